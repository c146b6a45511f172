"""Where a code suggestion ends: stop rules that fit code, applied while it streams.

``CodeStop`` is a stop rule for ``sampling.TextStream``: given the text
generated so far it says where the suggestion must end (if it must) and how
much of its tail to hold back until that is known. A suggestion ends

* at the end of the cursor's line when there is code after the cursor on
  that line (a gap inside a line is filled within the line), or code before
  it that does not open a block or a bracket (the statement is finished on
  its line; an empty line, or one ending in ``:`` or ``(``, may get more lines);
  and on such a line, where a comment (``comment``) follows the code;
* at a blank line;
* at the end of the block: a line indented less than the cursor's line;
* before a line that repeats the first line of code after the cursor;
* after ``max_lines`` lines (0: no limit).

``final`` trims the ending: trailing whitespace, and text that repeats the
start of the rest of the cursor's line (``np.mean(x))`` before ``)``) when
dropping it balances the line's brackets better (or it repeats all of that rest
and the brackets stay as balanced) -- so a suggestion never
duplicates the text after the cursor. The tail that might turn out to be
such a repetition, and trailing whitespace, are held back while streaming,
so nothing trimmed was ever shown.

``fenced``: the answer of an instruction prompt may open with a Markdown
code fence (`````python``); that line is dropped, and so is a restatement of
the code before the cursor; a closing fence ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CodeStop", "Scan", "comment_marker"]

_OPEN, _CLOSE = "([{", ")]}"
_OPENERS = (":", "(", "[", "{", ",", "\\")
_FENCE = "```"


_SLASHES = {
    "javascript",
    "typescript",
    "c",
    "cpp",
    "c++",
    "java",
    "go",
    "rust",
    "scala",
    "kotlin",
    "swift",
    "csharp",
    "c#",
    "php",
    "dart",
}
_DASHES = {"sql", "lua", "haskell"}


def comment_marker(language: str) -> str:
    """What begins a line comment in ``language`` (``#`` when not known otherwise)."""
    name = language.lower()
    return "//" if name in _SLASHES else "--" if name in _DASHES else "#"


@dataclass(frozen=True)
class Scan:
    """What a rule says of the text so far: where it ends (None: not yet), where the
    suggestion begins, and how many characters at the end to hold back."""

    stop: int | None
    hold: int
    start: int = 0


def _balance(text: str) -> int:
    """Opening minus closing brackets (strings and comments are not told apart)."""
    return sum(text.count(c) for c in _OPEN) - sum(text.count(c) for c in _CLOSE)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


class CodeStop:
    """The stop rules of one completion, from the code around its cursor. Stateless:
    ``scan`` and ``final`` read the whole text each time (suggestions are short)."""

    def __init__(
        self,
        prefix: str,
        suffix: str,
        max_lines: int = 0,
        fenced: bool = False,
        comment: str = "#",
    ) -> None:
        self.prefix = prefix
        self.line_head = prefix.rsplit("\n", 1)[-1]  # the cursor's line, before the cursor
        rest, _, after = suffix.partition("\n")
        self.line_tail = rest.rstrip()  # the cursor's line, after the cursor
        self.mid_line = bool(self.line_tail.strip())
        head = self.line_head.rstrip()
        # one line: a gap inside the line, or a statement begun on it (not a block or a bracket)
        self.one_line = self.mid_line or (bool(head) and not head.endswith(_OPENERS))
        self.indent = _indent(self.line_head) if self.line_head.strip() else len(self.line_head)
        following = [ln.strip() for ln in after.split("\n") if ln.strip()]
        self.next_line = following[0] if following else ""
        self.max_lines = max_lines
        self.fenced = fenced
        self.comment = comment

    # -- the rule ------------------------------------------------------------------
    def scan(self, text: str) -> Scan:
        """Where ``text`` (all generated so far) must end, and what to hold back."""
        start = 0
        if self.fenced:
            if _FENCE.startswith(text) or (text.startswith(_FENCE) and "\n" not in text):
                return Scan(None, len(text))  # the opening fence line is not complete yet
            if text.startswith(_FENCE):
                start = text.index("\n") + 1
            repeated = self._restated(text[start:])
            if repeated is None:
                return Scan(None, len(text))  # it may be restating the code before the cursor
            start += repeated
            closing = text.find(_FENCE, start)
            if closing >= 0:
                return Scan(len(text[:closing].rstrip()), 0, start)
        stop, hold = self._lines(text, start)
        if self.fenced and stop is None:
            hold = max(hold, self._partial(text, "\n" + _FENCE))
        return Scan(stop, hold, start)

    def final(self, text: str, start: int = 0) -> int:
        """Where the suggestion ``text`` (cut at its stop, if any) ends once trimmed."""
        end = len(text.rstrip())
        body = text[start:end]
        if "\n" in body or not self.line_tail:
            return max(start, end)
        while overlap := self._overlap(body):
            kept = abs(_balance(self.line_head + body[:-overlap] + self.line_tail))
            whole = abs(_balance(self.line_head + body + self.line_tail))
            if not (kept < whole or (overlap == len(self.line_tail) and kept <= whole)):
                break
            body = body[:-overlap]
            end -= overlap
        return max(start, end)

    # -- parts ---------------------------------------------------------------------
    def _lines(self, text: str, start: int) -> tuple[int | None, int]:
        """The line rules: a stop position, or the characters to hold back."""
        lines = text[start:].split("\n")
        offset = start
        for i, line in enumerate(lines):
            complete = i < len(lines) - 1
            if i == 0:
                if self.one_line and (remark := self._remark(line)) is not None:
                    return offset + remark, 0
                if self.one_line and complete:
                    return offset + len(line), 0
                offset += len(line) + 1
                continue
            cut = offset - 1  # before the newline that began this line
            if self.max_lines and i >= self.max_lines:
                return cut, 0
            stripped = line.strip()
            if not stripped:
                if complete:
                    return cut, 0  # a blank line
                return None, len(text) - cut  # blank or indentation: not known yet
            if _indent(line) < self.indent:
                return cut, 0  # the block ended
            if self.next_line:
                if stripped == self.next_line and (
                    complete or len(stripped) == len(self.next_line)
                ):
                    return cut, 0  # the code after the cursor, again
                if not complete and self.next_line.startswith(stripped):
                    return None, len(text) - cut
            offset += len(line) + 1
        last = lines[-1]
        hold = len(last) - len(last.rstrip())
        if self.mid_line and len(lines) == 1:  # what ``final`` would trim, if it ended here
            hold = max(hold, len(text) - self.final(text, start))
        return None, hold

    def _restated(self, body: str) -> int | None:
        """How much of an instruction answer's start restates the code before the cursor
        (the cell's, or the cursor line's): 0 if none, None while it cannot be told yet."""
        for said in (self.prefix, self.line_head.lstrip()):
            if not said.strip():
                continue
            if body.startswith(said):
                return len(said)
            if said.startswith(body):
                return None
        return 0

    def _remark(self, line: str) -> int | None:
        """Where a comment begins after code on a one-line suggestion (outside a string)."""
        at = line.find(" " + self.comment) if self.comment else -1
        if at <= 0 or not line[:at].strip():
            return None
        head = line[:at]
        if head.count("'") % 2 or head.count('"') % 2:
            return None
        return len(head.rstrip())

    def _overlap(self, body: str) -> int:
        """The longest end of ``body`` that is a start of the rest of the cursor's line."""
        return self._partial(body, self.line_tail, whole=True)

    @staticmethod
    def _partial(text: str, target: str, whole: bool = False) -> int:
        """The longest tail of ``text`` that begins ``target`` (the whole target too, if
        ``whole``)."""
        longest = len(target) if whole else len(target) - 1
        for k in range(min(longest, len(text)), 0, -1):
            if text.endswith(target[:k]):
                return k
        return 0
