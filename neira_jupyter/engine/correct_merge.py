"""The word-level guard of the correction pipeline: keep the model's small fixes, nothing else.

``merge_correction(raw, candidate)`` aligns the two texts word by word
(casefolded, punctuation dropped, ё read as е) with rapidfuzz's Levenshtein
opcodes on word lists, and builds the result from the raw words:

* a word the model kept takes the model's casing and punctuation;
* a substituted word is taken only when it is close in spelling to the word
  that was heard (``MergePolicy.min_similarity``, rapidfuzz's normalised
  Indel similarity) and, given a lexicon (``wordfreq_lexicon``), only when it
  turns a non-word into a known word ("файпл" -> "файл"); otherwise the raw
  word stays and borrows the model's casing and punctuation;
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Indel, Levenshtein, Opcode

_FINAL = ".!?…"
_CLOSERS = "\"'»”)]"


def word_key(word: str) -> str:
    """A word as the ear hears it: casefolded, without punctuation, ё as е."""
    kept = "".join(
        ch
        for ch in word.casefold()
        if not (ch.isspace() or unicodedata.category(ch).startswith("P"))
    )
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


def _blocks(opcodes: Iterable[Opcode]) -> list[list[Opcode]]:
    """The opcodes with each run of non-equal ones grouped (a replace next to a delete)."""
    blocks: list[list[Opcode]] = []
    for op in opcodes:
        if blocks and op.tag != "equal" and blocks[-1][0].tag != "equal":
            blocks[-1].append(op)
        else:
            blocks.append([op])
    return blocks


Lexicon = Callable[[str], float]  # a word -> its Zipf frequency (0: never seen)


def wordfreq_lexicon(language: str) -> Lexicon | None:
    """``wordfreq``'s Zipf frequency in ``language`` ("ru"/"en"); None without wordfreq."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        return None
    return lambda word: float(zipf_frequency(word, language))


@dataclass(frozen=True)
class MergePolicy:
    """Which substituted words are taken, and how many may change.

    A substitution is taken when the model's word is spelled close to the heard
    one (``min_similarity``) and, with a ``lexicon``, only when it repairs a
    non-word: the heard word is unknown (Zipf frequency below
    ``max_heard_zipf``) and the model's word is known (at least
    ``min_fixed_zipf``). A real word that was heard is never swapped for another
    real word: the model cannot hear which of two real words was said.
    """

    min_similarity: float = 0.75
    max_changed_share: float = 0.34
    max_heard_zipf: float = 1.0
    min_fixed_zipf: float = 2.0


def _acceptable(heard: str, fixed: str, policy: MergePolicy, lexicon: Lexicon | None) -> bool:
    heard_key, fixed_key = word_key(heard), word_key(fixed)
    if Indel.normalized_similarity(heard_key, fixed_key) < policy.min_similarity:
        return False
    if lexicon is None:
        return True
    return lexicon(heard_key) < policy.max_heard_zipf <= policy.min_fixed_zipf <= lexicon(
        fixed_key
    )


def merge_correction(
    raw: str,
    candidate: str,
    policy: MergePolicy | None = None,
    lexicon: Lexicon | None = None,
) -> str:
    """``raw`` with only the model's acceptable edits applied (see the module docstring)."""
    policy = policy or MergePolicy()
    a, b = _words(raw), _words(candidate)
    if not a or not b:
        return raw
    ka, kb = [word_key(w) for w in a], [word_key(w) for w in b]
    substitutions: list[tuple[int, str]] = []  # (index into out, the model's word)
    out: list[str] = []
    for block in _blocks(Levenshtein.opcodes(ka, kb)):
        first, last = block[0], block[-1]
        if first.tag == "equal":
            out.extend(b[first.dest_start : first.dest_end])
            continue
        if "".join(ka[first.src_start : last.src_end]) == "".join(
            kb[first.dest_start : last.dest_end]
        ):
            out.extend(b[first.dest_start : last.dest_end])  # a split or joined word
            continue
        for op in block:
            if op.tag == "delete":
                out.extend(a[op.src_start : op.src_end])
            elif op.tag == "replace":  # rapidfuzz pairs replaced words one to one
                for word, model_word in zip(
                    a[op.src_start : op.src_end], b[op.dest_start : op.dest_end], strict=True
                ):
                    if _acceptable(word, model_word, policy, lexicon):
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
