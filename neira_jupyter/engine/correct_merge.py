"""The word-level guard of the correction pipeline: keep the model's small fixes, nothing else.

``merge_correction(raw, candidate)`` aligns the two texts word by word
(casefolded, punctuation dropped, ё read as е) with rapidfuzz's Levenshtein
opcodes on word lists, and builds the result from the raw words:

* a word the model kept takes the model's casing and punctuation;
* a substituted word is taken only when it is close in spelling to the word
  that was heard (``MergePolicy.min_similarity``, rapidfuzz's normalised
  Indel similarity) -- a fixed case ending or a misheard letter, not a new word;
  otherwise the raw word stays and borrows the model's casing and punctuation;
* a split or joined word is taken when the letters are the same
  ("по мощник" -> "помощник");
* words the model inserted or deleted are ignored: a transcript correction
  does not add or drop what was said.

If the model substituted more than ``max_changed_share`` of the words it is
rewriting rather than correcting, and only its punctuation and casing are used.
``finish_sentence`` capitalises the first letter and ends the text with a
full stop when it has no final punctuation (unpunctuated live partials).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import Indel, Levenshtein

_FINAL = ".!?…"
_CLOSERS = "\"'»”)]"


def word_key(word: str) -> str:
    """A word as the ear hears it: casefolded, without punctuation, ё as е."""
    kept = "".join(ch for ch in word.casefold() if not unicodedata.category(ch).startswith("P"))
    return kept.replace("ё", "е")


def _words(text: str) -> list[str]:
    """Whitespace words, with punctuation-only tokens glued to the word before them."""
    out: list[str] = []
    for token in text.split():
        if out and not word_key(token):
            out[-1] += token if token in _FINAL + ",;:" else " " + token
        else:
            out.append(token)
    return out


def _styled(raw_word: str, model_word: str) -> str:
    """``raw_word``'s letters with ``model_word``'s leading capital and trailing punctuation."""
    core = raw_word.rstrip(_FINAL + ",;:" + _CLOSERS)
    if model_word[:1].isupper() and core[:1].islower():
        core = core[:1].upper() + core[1:]
    stripped = model_word.rstrip(_FINAL + ",;:" + _CLOSERS)
    return core + model_word[len(stripped) :]


@dataclass(frozen=True)
class MergePolicy:
    """How far a substituted word may be from the heard one, and how many may change."""

    min_similarity: float = 0.75
    max_changed_share: float = 0.34


def merge_correction(raw: str, candidate: str, policy: MergePolicy | None = None) -> str:
    """``raw`` with only the model's acceptable edits applied (see the module docstring)."""
    policy = policy or MergePolicy()
    a, b = _words(raw), _words(candidate)
    if not a or not b:
        return raw
    ka, kb = [word_key(w) for w in a], [word_key(w) for w in b]
    substitutions: list[tuple[int, str]] = []  # (index into out, the model's word)
    out: list[str] = []
    for op in Levenshtein.opcodes(ka, kb):
        raw_span, model_span = a[op.src_start : op.src_end], b[op.dest_start : op.dest_end]
        if op.tag == "equal":
            out.extend(model_span)
        elif op.tag == "delete":
            out.extend(raw_span)
        elif op.tag == "replace":
            if "".join(ka[op.src_start : op.src_end]) == "".join(kb[op.dest_start : op.dest_end]):
                out.extend(model_span)  # a split or joined word, same letters
                continue
            for k, word in enumerate(raw_span):
                model_word = model_span[min(k, len(model_span) - 1)]
                if len(raw_span) == len(model_span) and (
                    Indel.normalized_similarity(word_key(word), word_key(model_word))
                    >= policy.min_similarity
                ):
                    substitutions.append((len(out), model_word))
                out.append(_styled(word, model_word))
        # "insert": words the speaker did not say are not added
    if len(substitutions) > policy.max_changed_share * len(a):
        substitutions = []
    for index, word in substitutions:
        out[index] = word
    return " ".join(out)


def finish_sentence(text: str) -> str:
    """Capitalise the first letter and add a final full stop when the text lacks one."""
    body = text.strip()
    if not any(ch.isalpha() for ch in body):
        return text
    first = next(i for i, ch in enumerate(body) if ch.isalnum())
    body = body[:first] + body[first].upper() + body[first + 1 :]
    if body.rstrip(_CLOSERS)[-1:] not in _FINAL:
        body += "."
    return body
