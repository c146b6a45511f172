"""Local agreement: which words of successive Whisper hypotheses have settled.

After Macháček et al.'s whisper_streaming "LocalAgreement-2": a word is
*confirmed* once two successive hypotheses of the same audio prefix agree on
it (compared case- and punctuation-folded) and it is not the newest
hypothesis's last word (the audio may cut it). The rest of the newest
hypothesis is *tentative* and may still change.
"""

from __future__ import annotations

import difflib
import unicodedata

__all__ = ["LocalAgreement", "align_end", "fold"]


def fold(word: str) -> str:
    """A word compared without case or punctuation ("Fox," == "fox")."""
    return "".join(ch for ch in word.casefold() if not unicodedata.category(ch).startswith("P"))


def align_end(confirmed: list[str], words: list[str]) -> int:
    """Index in ``words`` just after the part that corresponds to ``confirmed``.

    The hypotheses are re-decoded from the segment's start, so they begin with
    (roughly) the confirmed words; the last matching block of a word diff says
    where they end, and unmatched confirmed words after it count one for one.
    """
    if not confirmed:
        return 0
    a = [fold(w) for w in confirmed]
    b = [fold(w) for w in words]
    blocks = [
        m
        for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        if m.size
    ]
    if not blocks:
        return min(len(confirmed), len(words))
    last = blocks[-1]
    return min(len(words), last.b + last.size + (len(a) - (last.a + last.size)))


class LocalAgreement:
    """Confirms words once two successive hypotheses agree on them.

    The last word of a hypothesis is never confirmed: the audio may end in
    the middle of it. Within a segment confirmed words are never taken back;
    ``close`` hands over the segment's final decode, which has heard the
    whole segment and is what the result keeps.
    """

    def __init__(self) -> None:
        self.confirmed: list[str] = []
        self.tentative: list[str] = []

    def update(self, words: list[str]) -> None:
        """Take the newest hypothesis of the whole segment."""
        tail = words[align_end(self.confirmed, words) :]
        agree = 0
        for old, new in zip(self.tentative, tail[:-1], strict=False):
            if fold(old) != fold(new) or not fold(new):
                break
            agree += 1
        self.confirmed.extend(tail[:agree])
        self.tentative = tail[agree:]

    def close(self, words: list[str]) -> list[str]:
        """End the segment with its final decode; returns the words to commit."""
        self.confirmed, self.tentative = [], []
        return words
