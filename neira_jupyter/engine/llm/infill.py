"""A code completion (``Infill``) as the prompt one loaded model reads: FIM, else an instruction.

``InfillFormatter`` finds the model's FIM template once, from its vocabulary
(``fim.detect_template``: llama.cpp's FIM token ids, then each marker's
text). With one, the prompt is the template's layout in tokens: the markers
as their ids, the code tokenized without special tokens. The other cells
(``Infill.context``) come first, then the current cell up to the cursor, so
that while the user types the prompt grows at its end and a slot's cached
prefix covers everything before the keystroke (``prompt_tokens_reused``).
When the prompt does not fit the context, the oldest cells go first, then
the far ends of the prefix and the suffix.

A model without FIM tokens gets a plain instruction (``instruction_messages``)
through its chat template, and its answer's code fence is removed. Either
way the suggestion ends where the code does (``code_stops.CodeStop``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..types import BadRequest, ChatMessage, GenerationOptions, Infill
from .chat_prompt import ChatFormatter, ChatPrompt
from .code_stops import CodeStop, comment_marker
from .fim import FimTemplate, Marker, detect_template

__all__ = ["INSTRUCTION", "InfillFormatter", "instruction_messages", "joined_prefix"]

INSTRUCTION = (
    "You are a code completion engine. Reply with only the code that belongs at <CURSOR>: "
    "no explanation, and none of the code before or after the cursor."
)
"""The system message of a completion for a model without FIM tokens."""

CURSOR = "<CURSOR>"


def joined_prefix(infill: Infill) -> str:
    """The other cells, then the current cell up to the cursor: the FIM prefix."""
    return "".join(cell.rstrip("\n") + "\n\n" for cell in infill.context) + infill.prefix


def instruction_messages(infill: Infill) -> list[ChatMessage]:
    """The instruction prompt of a completion, for a model without FIM tokens."""
    fence = f"```{infill.language}"
    parts = []
    if infill.context:
        cells = "\n\n".join(cell.rstrip("\n") for cell in infill.context)
        parts.append(f"Code that comes before it:\n{fence}\n{cells}\n```\n")
    parts.append(
        f"Complete the code at {CURSOR}:\n{fence}\n{infill.prefix}{CURSOR}{infill.suffix}\n```"
    )
    return [ChatMessage("system", INSTRUCTION), ChatMessage("user", "\n".join(parts))]


class InfillFormatter:
    """Turns ``Infill`` requests into ``ChatPrompt``s for one loaded model."""

    def __init__(self, chat: ChatFormatter) -> None:
        self.chat = chat
        self.llama = chat.llama
        model = self.llama._model
        pre = int(model.token_prefix())
        named = model.token_get_text(pre) if pre >= 0 else None
        self.template: FimTemplate | None = detect_template(self._is_token, named)
        self._bos = [int(model.token_bos())] if model.add_bos_token() else []

    @property
    def family(self) -> str | None:
        """The model's FIM family (``qwen``, ``codestral``, ...), or None: instruction prompts."""
        return self.template.family if self.template is not None else None

    def prepare(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> ChatPrompt:
        """The prompt of a completion (``options.infill``); ``BadRequest`` if it cannot fit."""
        infill = options.infill
        assert infill is not None
        if self.template is None:
            plain = replace(options, infill=None)
            prompt = self.chat.prepare(instruction_messages(infill), plain)
            rule = self.rule(infill, fenced=True)
            return replace(prompt, rule=rule)
        budget = self.chat.n_ctx - options.max_tokens - 1
        tokens = self._fitted(self.template, infill, budget)
        stops = (*self.template.stop_strings(), *options.stop)
        return ChatPrompt(tokens, stops, self.chat.sampling(options), rule=self.rule(infill))

    @staticmethod
    def rule(infill: Infill, fenced: bool = False) -> CodeStop:
        """Where the completion's code ends (``code_stops.CodeStop``)."""
        comment = comment_marker(infill.language)
        return CodeStop(infill.prefix, infill.suffix, infill.max_lines, fenced, comment)

    def _fitted(self, template: FimTemplate, infill: Infill, budget: int) -> list[int]:
        """The FIM tokens within ``budget``: the oldest cells dropped first, then the
        prefix's start and the suffix's end halved until it fits."""
        if budget < 16:
            raise BadRequest(
                f"max_tokens {budget} leaves no room for a prompt in {self.chat.n_ctx} tokens"
            )
        context = list(infill.context)
        prefix, suffix = infill.prefix, infill.suffix
        while True:
            joined = joined_prefix(replace(infill, context=tuple(context), prefix=prefix))
            tokens = self._encode(template.pieces(joined, suffix))
            if len(tokens) <= budget:
                return tokens
            if context:
                context.pop(0)
            else:
                prefix, suffix = prefix[len(prefix) // 2 :], suffix[: len(suffix) // 2]

    def _encode(self, pieces: list[Marker | str]) -> list[int]:
        tokens = list(self._bos)
        for piece in pieces:
            if isinstance(piece, Marker):
                found = self._token(piece.text)
                assert found is not None  # detect_template checked every marker
                tokens.append(found)
            else:
                tokens += self.llama.tokenize(piece.encode("utf-8"), add_bos=False, special=False)
        return tokens

    def _token(self, text: str) -> int | None:
        """The id of the one token whose text is ``text``, or None."""
        ids = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(ids) == 1 and self.llama._model.token_get_text(ids[0]) == text:
            return int(ids[0])
        return None

    def _is_token(self, text: str) -> bool:
        return self._token(text) is not None
