"""The speech check: which device and compute type Whisper gets, and one short transcription.

The model is loaded as the engine loads it (``WhisperTranscriber`` with the
configured ``speech_*`` options). The clip is a sentence spoken by espeak-ng
when it is installed (as the tests make theirs), else two seconds of a tone:
that still runs the model end to end, but says nothing about what it heard.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.speech import SAMPLE_RATE, SpeechSpec, WhisperTranscriber, decode_audio
from .report import Check

__all__ = ["SENTENCE", "speech_check", "speech_clip"]

SENTENCE = "Open the notebook and run every cell."
CUDA12_FIX = (
    "CTranslate2 sees no CUDA device: its PyPI wheels need CUDA 12's cuBLAS and cuDNN 9 "
    "(pip install nvidia-cublas-cu12 nvidia-cudnn-cu12, on LD_LIBRARY_PATH); or set "
    "NeiraApp.speech_device=cpu"
)


def speech_clip() -> tuple[np.ndarray, str | None]:
    """16 kHz float32 samples of ``SENTENCE`` spoken by espeak-ng, and the sentence; without
    espeak-ng, two seconds of a 440 Hz tone and None."""
    espeak = shutil.which("espeak-ng")
    if espeak is not None:
        with tempfile.TemporaryDirectory(prefix="neira-doctor-") as folder:
            wav = Path(folder) / "speech.wav"
            subprocess.run([espeak, "-v", "en-us", "-w", str(wav), SENTENCE],
                           check=True, capture_output=True, timeout=60)  # fmt: skip
            return decode_audio(wav.read_bytes()), SENTENCE
    t = np.arange(2 * SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
    return (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def _ctranslate2() -> dict[str, Any]:
    try:
        import ctranslate2

        count = int(ctranslate2.get_cuda_device_count())
        types = sorted(ctranslate2.get_supported_compute_types("cuda")) if count else []
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"version": ctranslate2.__version__, "cuda_devices": count, "cuda_compute_types": types}


def speech_check(spec: SpeechSpec | None, gpus_visible: bool, quick: bool) -> Check:
    """Load Whisper as configured and transcribe one short clip (``quick``: the files only)."""
    title = "Whisper"
    if spec is None:
        return Check("speech", title, "skip", "no local speech model is configured")
    details: dict[str, Any] = {"path": str(spec.path), "device_option": spec.device,
                               "compute_type_option": spec.compute_type,
                               "ctranslate2": _ctranslate2()}  # fmt: skip
    if not (spec.path / "model.bin").is_file():
        return Check("speech", title, "fail", f"no Whisper model.bin in {spec.path}",
                     fix="point NeiraApp.speech_model_path at a faster-whisper (CTranslate2) "
                     "model folder", details=details)  # fmt: skip
    if quick:
        return Check("speech", title, "skip", "--quick: not loaded", details=details)
    model = WhisperTranscriber(spec)
    try:
        started = time.perf_counter()
        model.load()
        details["load_seconds"] = round(time.perf_counter() - started, 2)
        details["device"], details["compute_type"] = model.device, model.compute_type
        audio, said = speech_clip()
        transcript = model.transcribe(audio, language="en" if said else "auto")
    except Exception as exc:
        return Check("speech", title, "fail", f"{exc}",
                     fix="check the model folder and the speech_device/speech_compute_type "
                     "options", details=details)  # fmt: skip
    finally:
        model.close()
    details["clip"] = "espeak-ng" if said else "tone (espeak-ng is not installed)"
    details["clip_seconds"] = round(audio.size / SAMPLE_RATE, 2)
    details["transcribe_ms"] = round(transcript.timings["transcribe_ms"], 1)
    details["text"] = transcript.text
    summary = f"{model.name} on {details['device']} ({details['compute_type']})"
    if said is not None:
        heard = len(_words(said) & _words(transcript.text)) / len(_words(said))
        details["words_heard"] = round(heard, 2)
        summary += f", heard {heard:.0%} of a spoken sentence in {details['transcribe_ms']} ms"
    else:
        summary += f", ran on a tone in {details['transcribe_ms']} ms (no espeak-ng)"
    if gpus_visible and details["device"] == "cpu" and spec.device == "auto":
        return Check("speech", title, "warn", summary + " although a GPU is here",
                     fix=CUDA12_FIX, details=details)  # fmt: skip
    return Check("speech", title, "ok", summary, None, details)
