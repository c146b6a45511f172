"""Fill-in-the-middle prompts in each code model's own tokens, found in its vocabulary.

A code model trained for FIM reads the code before the cursor and the code
after it between its special marker tokens and writes the middle. The
families and their layouts:

* Qwen2.5-Coder (and CodeGemma): ``<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>``
* StarCoder / SantaCoder: ``<fim_prefix>P<fim_suffix>S<fim_middle>`` (or ``<fim-prefix>`` ...)
* DeepSeek-Coder: ``<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>``
* CodeLlama: ``▁<PRE> P▁<SUF>S▁<MID>`` (SentencePiece tokens with their word-boundary space)
* Codestral / Mistral: ``[SUFFIX]S[PREFIX]P`` -- the suffix first and no middle marker,
  as Mistral's own tokenizer lays it out (llama.cpp's ``/infill`` puts the prefix first
  unless started with ``--spm-infill``; the model was trained on Mistral's order).

``detect_template`` finds the family from the vocabulary: llama.cpp's own
FIM token ids (``llama_vocab_fim_pre`` ..., read from the GGUF metadata or
recognised by their text) when it has them, else whether each marker text is
one token. A model without them has no template: the caller then uses a
plain instruction prompt (``infill.instruction_messages``).

``FimTemplate.pieces`` lays a prompt out as markers and text: markers become
their token ids, text is tokenized without special tokens, so code that
happens to contain a marker's text cannot forge one. The stable parts come
first (the other cells, then the current cell's prefix) so the cached prefix
of a slot is reused while the user types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TEMPLATES", "FimTemplate", "Marker", "detect_template", "template_for_prefix"]


@dataclass(frozen=True)
class Marker:
    """A special token of the prompt, by its text in the vocabulary."""

    text: str


@dataclass(frozen=True)
class FimTemplate:
    """One family's FIM layout: its marker tokens' texts and the tokens that end a middle."""

    family: str
    prefix: str
    suffix: str
    middle: str  # "" when the layout has no middle marker (Codestral)
    suffix_first: bool = False
    stops: tuple[str, ...] = ()
    prefix_space: str = ""  # CodeLlama: the text after <PRE> begins with a space

    @property
    def markers(self) -> tuple[str, ...]:
        return tuple(m for m in (self.prefix, self.suffix, self.middle) if m)

    def pieces(self, prefix: str, suffix: str) -> list[Marker | str]:
        """The prompt as markers and text, in the family's order (empty text left out)."""
        head: list[Marker | str] = [Marker(self.prefix), self.prefix_space + prefix]
        tail: list[Marker | str] = [Marker(self.suffix), suffix]
        order = [*tail, *head] if self.suffix_first else [*head, *tail]
        if self.middle:
            order.append(Marker(self.middle))
        return [p for p in order if not isinstance(p, str) or p]

    def render(self, prefix: str, suffix: str) -> str:
        """The prompt as one string, markers written as their text (for reading and tests)."""
        return "".join(p.text if isinstance(p, Marker) else p for p in self.pieces(prefix, suffix))

    def stop_strings(self) -> tuple[str, ...]:
        """Text that ends a middle when a model writes it as text rather than as its token."""
        return (*self.stops, *self.markers)


TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        stops=("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>"),
    ),
    FimTemplate(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        stops=("<|endoftext|>", "<file_sep>"),
    ),
    FimTemplate(
        "santacoder", "<fim-prefix>", "<fim-suffix>", "<fim-middle>", stops=("<|endoftext|>",)
    ),
    FimTemplate(
        "deepseek",
        "<｜fim▁begin｜>",
        "<｜fim▁hole｜>",
        "<｜fim▁end｜>",
        stops=("<｜end▁of▁sentence｜>", "<|EOT|>"),
    ),
    FimTemplate(
        "codellama", "▁<PRE>", "▁<SUF>", "▁<MID>", stops=("▁<EOT>", "<EOT>"), prefix_space=" "
    ),
    FimTemplate(
        "codestral", "[PREFIX]", "[SUFFIX]", "", suffix_first=True, stops=("</s>", "[MIDDLE]")
    ),
)
"""Every FIM layout known here, tried in this order."""

_ALIASES = {"<PRE>": "▁<PRE>", "<SUF>": "▁<SUF>", "<MID>": "▁<MID>"}


def template_for_prefix(text: str) -> FimTemplate | None:
    """The template whose prefix marker is the token text ``text`` (llama.cpp's fim_pre)."""
    text = _ALIASES.get(text, text)
    return next((t for t in TEMPLATES if t.prefix == text), None)


def detect_template(
    is_token: Callable[[str], bool], fim_prefix_text: str | None = None
) -> FimTemplate | None:
    """The model's FIM template, or None when its vocabulary has no FIM markers.

    ``fim_prefix_text``: the text of llama.cpp's FIM-prefix token, when it
    knows one; ``is_token(text)``: whether ``text`` is one special token of
    the vocabulary. Every marker of the chosen template must be a token.
    """
    if fim_prefix_text:
        found = template_for_prefix(fim_prefix_text)
        if found is not None and all(is_token(m) for m in found.markers):
            return found
    return next((t for t in TEMPLATES if all(is_token(m) for m in t.markers)), None)
