"""Which language a live stream decodes in, when the client asked for ``"auto"``.

Whisper detects the language of each decode it is not told one for, at the
cost of a second encoder pass over the 30 s window (faster-whisper 1.2
encodes once to detect, once to decode): measured on the demo Whisper base
with 2 CPU threads, a partial decode of 0.6-3 s of speech took about 1.6 s
with detection and 0.9 s without. Re-detecting on every partial also lets a
short prefix flip the language: on 0.6 s of a festival Russian clip Whisper
said ``en`` (probability 0.51) and wrote "You".

``LanguageTracker`` therefore decides, decode by decode:

* A language given by the client is used for every decode.
* With ``"auto"``, every decode detects until one detection reaches
  ``confidence`` (0.8 by default): that language is then *settled* and every
  later decode of the stream uses it, partial or closing, in this segment or
  the next. Detections on the demo model: English clips 0.73 at 0.6 s of
  speech, 0.9 and more from 1 s on; the wrong guesses on short prefixes
  stayed below (``en`` 0.51, ``pl`` 0.24, a 1.5 s Russian "Мама мыла раму"
  as ``pt`` 0.24); whole Russian sentences 0.83-0.99.
* A new segment does not re-detect once the language is settled: a dictation
  is in one language, short segments (a "yes") detect badly, and each
  detection costs an encoder pass. Mixed-language speech keeps being
  detected decode by decode as long as no detection was confident; a user
  who knows the language picks it.

``language`` is what the stream reports (and corrects in): the settled
language, else the most confident detection of a decode that closed a
segment (it heard the whole segment), else the most confident of any decode.
"""

from __future__ import annotations

from .whisper import Transcript

__all__ = ["LanguageTracker"]


class LanguageTracker:
    """The language of each decode of one stream, learnt from its detections."""

    def __init__(self, requested: str, confidence: float) -> None:
        self.requested = requested
        self.confidence = confidence
        self._settled: str | None = None if requested == "auto" else requested
        # the most confident detection so far, of a closing decode (True) or any (False)
        self._best: dict[bool, tuple[float, str]] = {}

    @property
    def language(self) -> str | None:
        """The stream's language so far; None before any detection."""
        if self._settled is not None:
            return self._settled
        best = self._best.get(True) or self._best.get(False)
        return best[1] if best else None

    def for_decode(self) -> str:
        """The language to pass to the next decode: a code, or ``"auto"`` to detect."""
        return self._settled or "auto"

    def observe(self, transcript: Transcript, closing: bool) -> None:
        """Learn from the detection of a decode made with ``for_decode()``."""
        if self._settled is not None or not transcript.language:
            return
        detected = (transcript.language_probability, transcript.language)
        for kind in {closing, False}:
            if kind not in self._best or detected[0] > self._best[kind][0]:
                self._best[kind] = detected
        if detected[0] >= self.confidence:
            self._settled = transcript.language
