"""Neira's prompt: the project's system prompt, the context within a budget, the language.

One prompt for the chat persona and for ``%neira fix``: ``ask`` turns a
question, a notebook snapshot and the kernel's variables into the request
(system prompt, conversation, answer length) and the answer's footer, with
the budget taken from the model's context window. ``build_context`` lays out
what the model is shown of the notebook, most useful first, until the
character budget is spent: the selection, the last error with its traceback,
the active cell, the kernel's variables, then the other cells nearest the
active one first (outputs trimmed). It returns the text and what it used,
which the answer states at its end ("used: 6 cells, df, the last error").
``system_prompt`` says who Neira is, what context it is given and in which
language to answer (the question's: Russian or English).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..protocol import ChatMessage, GenerateRequest
from .snapshot import NotebookSnapshot
from .variables import KernelVariables

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN = re.compile(r"[A-Za-z]")
FOOTER_MARK = "\n\n---\n"
"""What separates an answer from its "used: ..." line (stripped from the chat history)."""
CHARS_PER_TOKEN = 3
"""A conservative average for code and prose in Russian and English (Qwen/Mistral tokenizers)."""
PROMPT_RESERVE_TOKENS = 350
"""The system prompt's own words, the question and the chat template."""
ANSWER_TOKENS = 512
"""The longest answer, in tokens, unless the persona or the magic is told otherwise."""
WINDOW_TOKENS = 2048
"""The context window assumed when the model's is not known."""
FIX_QUESTION = "Explain the error in cell {cell} ({error}) and show the fixed code."
"""The question of Explain / fix and ``%neira fix`` (labextension/src/explainError.ts asks the
same; tests/context/test_prompt.py holds them together)."""


@dataclass(frozen=True)
class Sources:
    """Which context sources the persona may use (``NeiraPersona``'s options)."""

    cells: bool = True
    selection: bool = True
    error: bool = True
    variables: bool = True


@dataclass
class Context:
    """The context text and the labels of what went into it."""

    blocks: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    left: int = 0

    def add(self, text: str, label: str | None = None, share: float = 1.0) -> bool:
        """Add ``text``, cut to ``share`` of what is left; False when nothing is left."""
        room = int(self.left * share)
        if room < 80:
            return False
        if len(text) > room:
            text = text[: room - 4] + "\n..."
        self.blocks.append(text)
        self.left -= len(text) + 2
        if label:
            self.used.append(label)
        return True

    @property
    def text(self) -> str:
        return "\n\n".join(self.blocks)


def language(question: str) -> str:
    """``ru`` when the question is written mostly in Cyrillic, else ``en``."""
    cyrillic = len(CYRILLIC.findall(question))
    return "ru" if cyrillic and cyrillic >= len(LATIN.findall(question)) else "en"


def fence(text: str, kind: str = "") -> str:
    return f"```{kind}\n{text.rstrip()}\n```"


def fix_question(cell: int, ename: str, evalue: str) -> str:
    """The question that asks about the error of cell ``cell`` (as the user numbers it)."""
    return FIX_QUESTION.format(cell=cell, error=f"{ename or 'Error'}: {evalue}"[:300])


def cell_text(snapshot: NotebookSnapshot, index: int, out_chars: int = 600) -> str:
    cell = snapshot.cells[index]
    kind = "python" if cell.kind == "code" else ""
    text = f"[cell {snapshot.number(index)}]\n{fence(cell.source, kind)}"
    if cell.outputs.strip():
        output = cell.outputs.strip()
        if len(output) > out_chars:
            output = output[: out_chars // 2] + "\n...\n" + output[-out_chars // 2 :]
        text += f"\noutput:\n{fence(output)}"
    return text


def nearest_first(active: int, count: int) -> list[int]:
    """Cell indices ordered by distance from ``active`` (earlier cells first on a tie)."""
    order = sorted(range(count), key=lambda i: (abs(i - active), i > active))
    return [i for i in order if i != active]


def build_context(
    snapshot: NotebookSnapshot | None,
    variables: KernelVariables | None,
    budget_chars: int,
    sources: Sources,
) -> Context:
    """What the model is shown of the notebook, most useful first, within ``budget_chars``."""
    context = Context(left=budget_chars)
    if snapshot is None:
        return context
    if sources.selection and snapshot.selection.strip():
        context.add(f"The selected text:\n{fence(snapshot.selection)}", "the selection", 0.4)
    error = snapshot.error
    if sources.error and error is not None:
        body = f"{error.ename}: {error.evalue}\n{error.traceback[-1500:]}".strip()
        where = f"The last error, in cell {snapshot.number(error.cell)}:"
        context.add(f"{where}\n{fence(body)}", "the last error", 0.5)
    cells_used = 0
    active = min(snapshot.active, len(snapshot.cells) - 1)
    if (
        sources.cells
        and active >= 0
        and context.add("The active cell:\n" + cell_text(snapshot, active), None, 0.5)
    ):
        cells_used += 1
    if sources.variables and variables is not None and variables.lines:
        listing = "\n".join(variables.lines)
        if context.add(f"The kernel's variables (newest first):\n{listing}", None, 0.6):
            shown = variables.names[:5]
            more = len(variables.names) - len(shown)
            context.used.extend(shown + ([f"{more} more variables"] if more > 0 else []))
    if sources.cells:
        for index in nearest_first(active, len(snapshot.cells)):
            if not snapshot.cells[index].source.strip():
                continue
            if not context.add(cell_text(snapshot, index, 300), None, 0.5):
                break
            cells_used += 1
    if cells_used:
        context.used.insert(0, f"{cells_used} cell{'s' if cells_used > 1 else ''}")
    return context


def system_prompt(context: Context, lang: str, notebook: str = "") -> str:
    """The project's system prompt for one answer: who Neira is, what it is given, the language."""
    where = f" The notebook is {notebook}." if notebook else ""
    given = (
        "Below is context from the user's notebook: " + ", ".join(context.used) + "."
        if context.used
        else "You are given no notebook context for this question."
    )
    answer_in = "Answer in Russian. Отвечай по-русски." if lang == "ru" else "Answer in English."
    parts = [
        "You are Neira, an assistant inside the user's Jupyter notebook, running on a local "
        "model: nothing leaves this machine." + where,
        given + " Base your answer on it; when it does not say, say so instead of guessing. "
        "Put code in ```python blocks. Keep answers short and concrete.",
        answer_in,
    ]
    if context.blocks:
        parts.append("Context:\n\n" + context.text)
    return "\n\n".join(parts)


def used_line(context: Context, variables: KernelVariables | None, lang: str) -> str:
    """The answer's last line: what context it used (and why variables are missing)."""
    label = "использовано" if lang == "ru" else "used"
    used = ", ".join(context.used) if context.used else ("ничего" if lang == "ru" else "nothing")
    note = f" ({variables.note})" if variables is not None and variables.note else ""
    return f"{FOOTER_MARK}*{label}: {used}{note}*"


@dataclass(frozen=True)
class Ask:
    """One question ready to send: the request, and the footer its answer ends with."""

    request: GenerateRequest
    footer: str
    context: Context


def context_budget(
    window_tokens: int, answer_tokens: int, asked_chars: int, max_prompt_chars: int | None = None
) -> int:
    """The characters of context that fit: the window less the answer, the prompt's own words
    and what is asked (question and conversation), and within the server's prompt limit."""
    budget = (window_tokens - answer_tokens - PROMPT_RESERVE_TOKENS) * CHARS_PER_TOKEN
    budget -= asked_chars
    if max_prompt_chars is not None:
        budget = min(budget, max_prompt_chars - asked_chars - 4000)
    return max(budget, 0)


def ask(
    question: str,
    snapshot: NotebookSnapshot | None,
    variables: KernelVariables | None,
    *,
    window_tokens: int = WINDOW_TOKENS,
    answer_tokens: int = ANSWER_TOKENS,
    sources: Sources | None = None,
    history: Sequence[ChatMessage] = (),
    max_prompt_chars: int | None = None,
) -> Ask:
    """The request that asks ``question`` about ``snapshot`` and ``variables``: the system
    prompt with the context that fits, the conversation so far, then the question."""
    asked = len(question) + sum(len(m.content) for m in history)
    budget = context_budget(window_tokens, answer_tokens, asked, max_prompt_chars)
    context = build_context(snapshot, variables, budget, sources or Sources())
    lang = language(question)
    request = GenerateRequest(
        system=system_prompt(context, lang, snapshot.path if snapshot else ""),
        messages=[*history, ChatMessage(role="user", content=question)],
        max_tokens=answer_tokens,
    )
    return Ask(request, used_line(context, variables, lang), context)
