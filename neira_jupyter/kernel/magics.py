"""``NeiraMagics``: ``%%neira``, ``%neira status|models|reset|fix|help`` and ``%transcribe``.

Loaded by ``%load_ext neira_jupyter`` (see ``extension``). Nothing here loads
a model or imports server code: every request goes over HTTP through
``NeiraClient`` to the Jupyter server extension that keeps the models
resident. Settings are traits of ``NeiraMagics``,
so ``%config NeiraMagics.default_max_tokens = 256`` works, as does an
``ipython_config.py``.

Failures a user can act on (no server, model loading, queue full, degraded
mode, bad options) are printed as one clear message, never as a traceback.
How one answer streams, and how an interrupt cancels it, is ``answer``'s part.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display
from traitlets import observe

from .answer import report, run_answer
from .arguments import (
    CODE_SYSTEM_PROMPT,
    LANGUAGES,
    MAX_TOKENS_RANGE,
    TEMPERATURE_RANGE,
    identifier,
    ranged,
)
from .client import ChatMessage, GenerateRequest, NeiraClient, NeiraError
from .fix import fix_request, window_of
from .help import HELP
from .prompt import (
    ChatHistory,
    ErrorRecord,
    InterpolationError,
    interpolate,
    record_from_exception,
)
from .render import (
    FORMATS,
    PlainStreamView,
    RichStreamView,
    StreamView,
    code_blocks,
    models_bundle,
    status_bundle,
)
from .results import GenerationStopped, NeiraResult, TranscriptResult, transcript_from_answer
from .settings import MagicSettings
from .transcript_stream import stream_transcript

__all__ = ["GenerationStopped", "NeiraMagics", "NeiraResult", "TranscriptResult"]


@magics_class
class NeiraMagics(Magics, MagicSettings):
    """``%%neira``, ``%neira`` and ``%transcribe``; the settings are ``MagicSettings``' traits."""

    @observe("chat_history_limit")
    def _history_limit_changed(self, change: dict[str, Any]) -> None:
        self.chats.limit = change["new"]

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        self.chats = ChatHistory()
        super().__init__(shell=shell, **kwargs)
        self.chats.limit = self.chat_history_limit
        self.errors: dict[int, ErrorRecord] = {}
        self.last_error: ErrorRecord | None = None
        self.last_result: NeiraResult | None = None

    # ----------------------------------------------------------------- plumbing

    def client(self) -> NeiraClient:
        """A client for the server this kernel belongs to (found anew on every call)."""
        return NeiraClient.discover(timeout=self.connect_timeout, read_timeout=self.read_timeout)

    def _rich(self) -> bool:
        if self.output_mode != "auto":
            return bool(self.output_mode == "rich")
        return getattr(self.shell, "kernel", None) is not None

    @property
    def chat_key(self) -> str:
        """The conversation of this notebook: its path when Jupyter says it, else ``default``."""
        return os.environ.get("JPY_SESSION_NAME") or "default"

    def record_error(self, result: Any) -> None:
        """``post_run_cell`` hook: remember a cell's error as ``Err[n]``."""
        if not self.record_errors:
            return
        exc = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if exc is None or isinstance(exc, (KeyboardInterrupt, UsageError)):
            return  # interrupts and magic usage errors are not the user's code failing
        info = getattr(result, "info", None)
        code = str(getattr(info, "raw_cell", "") or "")
        count = getattr(result, "execution_count", None)
        record = record_from_exception(exc, code, count)
        if count is not None:
            self.errors[count] = record
        self.last_error = record

    def _namespace(self) -> Mapping[str, Any]:
        user_ns = self.shell.user_ns if self.shell is not None else {}
        return ChainMap(user_ns, {"Err": self.errors})

    # ----------------------------------------------------------------- %%neira

    @magic_arguments()
    @argument("--model", default=None, help="a configured model name, or auto")
    @argument(
        "--temperature",
        type=ranged(float, *TEMPERATURE_RANGE, "--temperature"),
        default=None,
        help="sampling temperature, {:g}..{:g}".format(*TEMPERATURE_RANGE),
    )
    @argument(
        "--max-tokens",
        type=ranged(int, *MAX_TOKENS_RANGE, "--max-tokens"),
        default=None,
        help="most tokens to generate, {}..{}".format(*MAX_TOKENS_RANGE),
    )
    @argument("--system", default=None, help="a system message")
    @argument("--format", choices=FORMATS, default=None, help="how to render the answer")
    @argument("--no-stream", action="store_true", help="show the answer only when complete")
    @argument("--out", type=identifier, default=None, help="store a NeiraResult in this variable")
    @argument("--chat", action="store_true", help="continue this notebook's conversation")
    @argument("--code", action="store_true", help="put the generated code into a new cell")
    @argument("--seed", type=int, default=None, help="sampling seed")
    @line_cell_magic
    def neira(self, line: str, cell: str | None = None) -> None:
        """``%%neira``: ask the local model, the cell body is the prompt.

        ``%neira status|models|reset|fix [N]|help`` as a line magic.
        """
        if cell is None:
            self._command(line)
            return
        args = self._parse(self.neira, line)
        if args is None:
            return
        if not cell.strip():
            raise UsageError("%%neira: write the prompt in the cell body, below the %%neira line.")
        try:
            prompt = interpolate(cell, self._namespace()).strip()
        except InterpolationError as exc:
            raise UsageError(str(exc)) from None
        fmt = args.format or self.default_format
        system = args.system if args.system is not None else (self.default_system or None)
        if args.code and system is None:
            system = CODE_SYSTEM_PROMPT.format(language=self.code_language)
        request = GenerateRequest(
            model=args.model or self.default_model,
            system=system,
            max_tokens=args.max_tokens if args.max_tokens is not None else self.default_max_tokens,
            temperature=(
                args.temperature if args.temperature is not None else self.default_temperature
            ),
            seed=args.seed,
            json_schema={} if fmt == "json" else None,  # the server's grammar keeps it JSON
        )
        if args.chat:
            history = self.chats.messages(self.chat_key)
            turns = [*history, {"role": "user", "content": prompt}]
            request.messages = [ChatMessage.model_validate(turn) for turn in turns]
        else:
            request.prompt = prompt
        result = self.ask(request, fmt=fmt, stream=not args.no_stream, out=args.out, prompt=prompt)
        if result is None:
            return
        if args.chat and result.finish_reason != "cancelled":
            self.chats.add_exchange(self.chat_key, prompt, result.text)
        if args.code and self.shell is not None:
            self.shell.set_next_input(result.code, replace=False)

    @staticmethod
    def _parse(func: Any, line: str) -> argparse.Namespace | None:
        if line.strip() in ("-h", "--help"):
            print(func.parser.format_help())
            return None
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"cannot read the options: {exc}") from None
        return cast(argparse.Namespace, func.parser.parse_args(argv))

    def ask(
        self,
        request: GenerateRequest,
        *,
        fmt: str = "markdown",
        stream: bool = True,
        out: str | None = None,
        prompt: str = "",
        footer: str = "",
    ) -> NeiraResult | None:
        """Send ``request``, show the answer as it streams, return it (None after an error).

        Raises ``GenerationStopped`` after an interrupt, once the server has been told;
        the partial answer is kept (``last_result``, ``out``) first.
        """
        view: StreamView = (
            RichStreamView(fmt, self.stream_interval, self.code_language)
            if self._rich()
            else PlainStreamView()
        )
        try:
            client = self.client()
        except NeiraError as exc:
            report(exc)
            return None
        try:
            result = run_answer(
                client,
                request,
                view,
                fmt=fmt,
                stream=stream,
                prompt=prompt,
                cancel_timeout=self.cancel_timeout,
                footer=footer,
            )
        except GenerationStopped as stop:
            if stop.result is not None:
                self._keep(stop.result, out)
            raise
        return self._keep(result, out) if result is not None else None

    def _keep(self, result: NeiraResult, out: str | None) -> NeiraResult:
        self.last_result = result
        if out and self.shell is not None:
            self.shell.user_ns[out] = result
        return result

    # ----------------------------------------------------------------- %neira

    def _command(self, line: str) -> None:
        """``%neira status|models|reset|fix [N]|help``."""
        words = line.split()
        command = words[0] if words else "help"
        rest = words[1:]
        if command == "help":
            display({"text/markdown": HELP, "text/plain": HELP}, raw=True)
        elif command in ("status", "models"):
            try:
                status = self.client().status()
            except NeiraError as exc:
                report(exc)
                return
            bundle = status_bundle(status) if command == "status" else models_bundle(status)
            display(bundle, raw=True)
        elif command == "reset":
            n = self.chats.reset(self.chat_key)
            print(f"neira: conversation cleared ({n} messages forgotten).")
        elif command == "fix":
            self._fix(rest)
        else:
            raise UsageError(
                f"%neira: unknown command {command!r}. Use status, models, reset, fix or help "
                "(the prompt magic is the cell magic %%neira)."
            )

    def _fix(self, rest: list[str]) -> None:
        """Ask about the last error (or cell N's) as the chat's Explain / fix does; the
        answer's last code block becomes the next cell (``fix_next_cell``)."""
        if rest and not rest[0].isdigit():
            raise UsageError("%neira fix takes an optional cell number: %neira fix 3")
        if rest:
            error = self.errors.get(int(rest[0]))
            if error is None:
                print(f"neira: cell {rest[0]} raised no recorded error.", file=sys.stderr)
                return
        elif self.last_error is None:
            print("neira: no error to fix yet (errors are recorded once the extension is loaded).")
            return
        else:
            error = self.last_error
        try:
            window = window_of(self.client().status_document())
        except NeiraError as exc:
            report(exc)
            return
        request, asked = fix_request(
            self.shell, error, window_tokens=window, answer_tokens=self.default_max_tokens
        )
        request.model = self.default_model
        request.temperature = self.default_temperature
        question = request.messages[-1].content if request.messages else ""
        result = self.ask(request, fmt="markdown", prompt=question, footer=asked.footer)
        blocks = code_blocks(result.text) if result is not None else []
        if blocks and self.fix_next_cell and self.shell is not None:
            self.shell.set_next_input(blocks[-1], replace=False)

    # ----------------------------------------------------------------- %transcribe

    @magic_arguments()
    @argument("path", nargs="?", default=None, help="an audio file (WAV, FLAC, MP3, OGG, WebM)")
    @argument("--lang", choices=LANGUAGES, default="auto", help="spoken language")
    @argument("--raw", action="store_true", help="do not correct the transcript")
    @argument("--out", type=identifier, default=None, help="store a TranscriptResult here")
    @line_magic
    def transcribe(self, line: str) -> None:
        """Speech to text: the raw transcript, the corrected one and what changed."""
        args = self._parse(self.transcribe, line)
        if args is None:
            return
        if args.path is None:
            self._recorder(args)
            return
        path = Path(args.path).expanduser()
        if not path.is_file():
            print(f"neira: no such audio file: {path}", file=sys.stderr)
            return
        try:
            client = self.client()
            result: TranscriptResult | None
            if args.raw:
                answer = client.transcribe(path, language=args.lang, correct=False)
                result = transcript_from_answer(answer)
                display(result._repr_mimebundle_(), raw=True)
            else:  # the correction streams into the output
                result = stream_transcript(client, path, args.lang, self._rich())
        except NeiraError as exc:
            report(exc)
            return
        if result is not None and args.out and self.shell is not None:
            self.shell.user_ns[args.out] = result

    def _recorder(self, args: argparse.Namespace) -> None:
        from .widget import Recorder, front_end_missing

        missing = front_end_missing()
        if missing is not None:
            print(f"neira: {missing}; meanwhile give %transcribe an audio file: "
                  "%transcribe speech.wav", file=sys.stderr)
            return
        widget = Recorder(language=args.lang, correct=not args.raw)
        if args.out and self.shell is not None:
            self.shell.user_ns[args.out] = widget
        display(widget)
