"""The IPython magics: ``%%neira``, ``%neira status|models|reset|fix|help`` and ``%transcribe``.

Loaded by ``%load_ext neira_jupyter``. Nothing here loads a model or imports
server code: every request goes over HTTP through ``NeiraClient`` to the
Jupyter server extension that keeps the models resident (DESIGN.md, flows 1
and 2). Settings are traits of ``NeiraMagics``, so
``%config NeiraMagics.default_max_tokens = 256`` works, as does an
``ipython_config.py``.

Failures a user can act on (no server, model loading, queue full, degraded
mode, bad options) are printed as one clear message, never as a traceback.
Interrupting the kernel while an answer streams cancels the generation on the
server (``DELETE api/requests/{id}`` with the id the client chose), keeps the
partial answer with a ``[stopped]`` note, and then re-raises the interrupt as
``GenerationStopped`` (a short one-line error) so "Run all" stops there.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shlex
import sys
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display
from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import Configurable

from .client import (
    ChatMessage,
    DoneEvent,
    GenerateRequest,
    GenerationStream,
    NeiraClient,
    NeiraError,
    StartEvent,
    TokenEvent,
)
from .prompt import (
    ChatHistory,
    ErrorRecord,
    InterpolationError,
    fix_prompt,
    interpolate,
    record_from_exception,
)
from .render import (
    FORMATS,
    STOPPED_NOTE,
    PlainStreamView,
    RichStreamView,
    StreamView,
    WordChange,
    extract_code,
    models_bundle,
    status_bundle,
    transcript_bundle,
    word_diff,
)

__all__ = [
    "GenerationStopped",
    "NeiraMagics",
    "NeiraResult",
    "TranscriptResult",
    "load_ipython_extension",
    "unload_ipython_extension",
]

LANGUAGES = ("auto", "en", "ru")
CODE_SYSTEM_PROMPT = (
    "You write {language} code for a Jupyter notebook. Answer with one ```{language} "
    "code block and at most one short sentence."
)

HELP = """\
**neira** — a local assistant that runs in this Jupyter server.

`%%neira [options]` — the cell body is the prompt; the answer streams into the output.

| option | |
|---|---|
| `--model NAME\\|auto` | a configured model (`%neira models` lists them) |
| `--temperature T` | 0..2 |
| `--max-tokens N` | 1..8192 |
| `--system TEXT` | a system message |
| `--format F` | markdown (default), code, text, json, html, math |
| `--no-stream` | show the answer only when it is complete |
| `--out VAR` | store a `NeiraResult` (text, model, route, usage, timings) in `VAR` |
| `--chat` | continue this notebook's conversation (`%neira reset` clears it) |
| `--code` | put the generated code into a new cell below |
| `--seed N` | a sampling seed |

In the prompt, `{name}` is replaced by a variable, `{In[3]}`, `{Out[3]}` and `{Err[3]}`
by cell 3's input, output and error; `{{` and `}}` are literal braces.
The stop button cancels the generation on the server and keeps the partial answer.

`%transcribe PATH [--lang ru|en|auto] [--raw] [--out VAR]` — speech to text, with the
corrected text and a word diff of what the correction changed (`--raw`: no correction).
Without PATH: the recording widget.

`%neira status` (models, route, memory, queue) · `%neira models` · `%neira reset` ·
`%neira fix [N]` (explain and fix the last error, or cell N's) · `%neira help`

Settings: `%config NeiraMagics` lists them, e.g. `%config NeiraMagics.default_max_tokens = 256`.
The server is found automatically in a kernel started by Jupyter; elsewhere set
`NEIRA_URL` and `NEIRA_TOKEN`.
"""


class GenerationStopped(KeyboardInterrupt):
    """The user interrupted a streaming answer; it was cancelled on the server."""

    def _render_traceback_(self) -> list[str]:
        return [f"KeyboardInterrupt: {self}"]


@dataclass
class NeiraResult:
    """What ``%%neira --out VAR`` stores: the answer and how it was made."""

    text: str
    model: str = ""
    route: str = ""
    route_reason: str = ""
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)
    request_id: str = ""
    prompt: str = ""

    @property
    def code(self) -> str:
        """The first fenced code block of the answer (or the whole answer)."""
        return extract_code(self.text)

    def json(self) -> Any:
        """The answer parsed as JSON (a fenced block is unwrapped first)."""
        return json.loads(extract_code(self.text))

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


@dataclass
class TranscriptResult:
    """What ``%transcribe --out VAR`` stores; it displays as raw, corrected and diff."""

    raw: str
    text: str
    language: str | None = None
    duration: float | None = None
    corrected: bool = False
    degraded: bool = False
    reason: str | None = None
    diff: list[WordChange] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return transcript_bundle(
            raw=self.raw,
            corrected=self.text if self.corrected else None,
            diff=self.diff,
            language=self.language,
            duration=self.duration,
            degraded_reason=self.reason if self.degraded else None,
        )


def _ranged(kind: Callable[[str], Any], low: float, high: float, name: str) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low:g} and {high:g}")
        return number

    return parse


def _identifier(value: str) -> str:
    if not value.isidentifier():
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid variable name")
    return value


@magics_class
class NeiraMagics(Magics, Configurable):
    """``%%neira``, ``%neira`` and ``%transcribe``; the traits are the magic settings."""

    default_model = Unicode("auto", help="Model for %%neira when --model is not given.").tag(
        config=True
    )
    default_max_tokens = Int(
        None, allow_none=True, help="--max-tokens default (None: the server's default)."
    ).tag(config=True)
    default_temperature = Float(
        None, allow_none=True, help="--temperature default (None: the server's default)."
    ).tag(config=True)
    default_system = Unicode("", help="System message sent when --system is not given.").tag(
        config=True
    )
    default_format = Enum(list(FORMATS), "markdown", help="--format default.").tag(config=True)
    code_language = Unicode("python", help="Language of --code and --format code.").tag(config=True)
    stream_interval = Float(
        0.1, help="Least seconds between two in-place updates of a streaming answer."
    ).tag(config=True)
    chat_history_limit = Int(
        20, help="Messages of a --chat conversation sent back to the model (oldest dropped)."
    ).tag(config=True)
    output_mode = Enum(
        ["auto", "rich", "plain"],
        "auto",
        help="rich: update one display in place (notebooks); plain: write text to stdout "
        "(terminals); auto: rich inside a Jupyter kernel.",
    ).tag(config=True)
    connect_timeout = Float(
        10.0, help="Seconds to wait for the server to accept a connection."
    ).tag(config=True)
    read_timeout = Float(
        600.0, help="Seconds to wait for the next piece of an answer before giving up."
    ).tag(config=True)
    cancel_timeout = Float(
        5.0, help="Seconds to wait for the server to confirm a cancelled generation."
    ).tag(config=True)
    record_errors = Bool(True, help="Record cell errors as Err[n] for prompts and %neira fix.").tag(
        config=True
    )

    @validate("default_max_tokens")
    def _check_max_tokens(self, proposal: dict[str, Any]) -> int | None:
        value = proposal["value"]
        if value is not None and not 1 <= value <= 8192:
            raise TraitError("default_max_tokens must be between 1 and 8192")
        return cast("int | None", value)

    @validate("default_temperature")
    def _check_temperature(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        if value is not None and not 0.0 <= value <= 2.0:
            raise TraitError("default_temperature must be between 0 and 2")
        return cast("float | None", value)

    @validate("stream_interval", "connect_timeout", "read_timeout", "cancel_timeout")
    def _check_non_negative(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value < 0:
            raise TraitError(f"{proposal['trait'].name} must not be negative")
        return value

    @validate("chat_history_limit")
    def _check_history(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError("chat_history_limit must not be negative")
        self.chats.limit = value
        return value

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

    @staticmethod
    def _report(exc: BaseException) -> None:
        print(f"neira: {exc}", file=sys.stderr)

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
        type=_ranged(float, 0.0, 2.0, "--temperature"),
        default=None,
        help="sampling temperature, 0..2",
    )
    @argument(
        "--max-tokens",
        type=_ranged(int, 1, 8192, "--max-tokens"),
        default=None,
        help="most tokens to generate, 1..8192",
    )
    @argument("--system", default=None, help="a system message")
    @argument("--format", choices=FORMATS, default=None, help="how to render the answer")
    @argument("--no-stream", action="store_true", help="show the answer only when complete")
    @argument("--out", type=_identifier, default=None, help="store a NeiraResult in this variable")
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
    ) -> NeiraResult | None:
        """Send ``request``, show the answer as it streams, return it (None after an error).

        Raises ``GenerationStopped`` after an interrupt, once the server has been told.
        """
        view: StreamView = (
            RichStreamView(fmt, self.stream_interval, self.code_language)
            if self._rich()
            else PlainStreamView()
        )
        try:
            client = self.client()
        except NeiraError as exc:
            self._report(exc)
            return None
        try:
            if not stream:
                done = client.generate_text(request)
                view.finish(done.text, fmt)
                return self._keep(self._result(done, prompt), out)
            stream_ = client.generate(request)
        except NeiraError as exc:
            self._report(exc)
            return None
        except KeyboardInterrupt:  # before any token: waiting in the queue, or --no-stream
            with contextlib.suppress(NeiraError, KeyboardInterrupt):
                client.cancel(request.request_id)
            print(f"neira: {STOPPED_NOTE} before the answer arrived.", file=sys.stderr)
            raise GenerationStopped("the request was cancelled on the server.") from None

        text = ""
        start: StartEvent | None = None
        done_event: DoneEvent | None = None
        try:
            for event in stream_:
                if isinstance(event, TokenEvent):
                    text += event.text
                    view.update(text)
                elif isinstance(event, StartEvent):
                    start = event
                elif isinstance(event, DoneEvent):
                    done_event = event
        except KeyboardInterrupt:
            stopped = self._stop(client, stream_)
            if stopped is not None:
                result = self._result(stopped, prompt, stopped.text or text)
            else:
                result = self._partial(request, start, text, prompt, "cancelled")
            view.finish(result.text, fmt, note=STOPPED_NOTE)
            self._keep(result, out)
            raise GenerationStopped(
                "the generation was cancelled on the server; the partial answer is kept above."
            ) from None
        except NeiraError as exc:
            stream_.close()
            if text:
                view.finish(text, fmt, note=f"[error: {exc}]")
            self._report(exc)
            return None
        finally:
            stream_.close()
        if done_event is None:
            view.finish(text, fmt, note="[the server closed the stream early]")
            return self._keep(self._partial(request, start, text, prompt, "error"), out)
        final = done_event.text or text
        note = STOPPED_NOTE if done_event.finish_reason == "cancelled" else None
        view.finish(final, fmt, note=note)
        return self._keep(self._result(done_event, prompt, final), out)

    def _stop(self, client: NeiraClient, stream: GenerationStream) -> DoneEvent | None:
        """Cancel on the server, then wait (briefly) for its final ``done`` event.

        The wait means that when the cell ends the server has really stopped; a
        second interrupt, or a server that does not answer within
        ``cancel_timeout``, ends it early (closing the stream cancels too).
        """
        try:
            client.cancel(stream.request_id)
            return stream.drain(self.cancel_timeout)
        except (NeiraError, KeyboardInterrupt):
            return None
        finally:
            stream.close()

    @staticmethod
    def _result(done: DoneEvent, prompt: str, text: str | None = None) -> NeiraResult:
        return NeiraResult(
            text=done.text if text is None else text,
            model=done.model,
            route=done.route,
            route_reason=done.route_reason,
            finish_reason=done.finish_reason,
            usage=dict(done.usage),
            timings=dict(done.timings),
            request_id=done.request_id,
            prompt=prompt,
        )

    @staticmethod
    def _partial(
        request: GenerateRequest, start: StartEvent | None, text: str, prompt: str, reason: str
    ) -> NeiraResult:
        return NeiraResult(
            text=text,
            model=start.model if start else "",
            route=start.route if start else "",
            route_reason=start.route_reason if start else "",
            finish_reason=reason,
            request_id=request.request_id,
            prompt=prompt,
        )

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
                self._report(exc)
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
        request = GenerateRequest(
            model=self.default_model,
            prompt=fix_prompt(error, self.code_language),
            max_tokens=self.default_max_tokens,
            temperature=self.default_temperature,
        )
        self.ask(request, fmt="markdown", prompt=request.prompt or "")

    # ----------------------------------------------------------------- %transcribe

    @magic_arguments()
    @argument("path", nargs="?", default=None, help="an audio file (WAV, FLAC, MP3, OGG, WebM)")
    @argument("--lang", choices=LANGUAGES, default="auto", help="spoken language")
    @argument("--raw", action="store_true", help="do not correct the transcript")
    @argument("--out", type=_identifier, default=None, help="store a TranscriptResult here")
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
            answer = self.client().transcribe(path, language=args.lang, correct=not args.raw)
        except NeiraError as exc:
            self._report(exc)
            return
        result = transcript_from_answer(answer)
        if args.out and self.shell is not None:
            self.shell.user_ns[args.out] = result
        display(result._repr_mimebundle_(), raw=True)

    def _recorder(self, args: argparse.Namespace) -> None:
        try:
            from .widget import Recorder  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            print(
                "neira: the recording widget is not available yet; give %transcribe an audio "
                "file instead: %transcribe speech.wav",
                file=sys.stderr,
            )
            return
        try:
            widget = Recorder(language=args.lang, correct=not args.raw)
        except TypeError:
            widget = Recorder()
        if args.out and self.shell is not None:
            self.shell.user_ns[args.out] = widget
        display(widget)


def transcript_from_answer(answer: dict[str, Any]) -> TranscriptResult:
    """Turn the ``POST api/transcribe`` JSON into a ``TranscriptResult`` with its word diff."""
    raw = str(answer.get("raw") or "")
    correction = answer.get("correction")
    corrected = isinstance(correction, dict)
    text = str(answer.get("text") or raw)
    degraded = False
    reason: str | None = None
    diff: list[WordChange] = []
    if isinstance(correction, dict):
        text = str(correction.get("corrected") or text)
        degraded = bool(correction.get("degraded"))
        reason = correction.get("reason")
        diff = word_diff(raw, text, correction.get("changes"))
    duration = answer.get("duration")
    return TranscriptResult(
        raw=raw,
        text=text,
        language=answer.get("language"),
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        corrected=corrected,
        degraded=degraded,
        reason=str(reason) if reason else None,
        diff=diff,
        segments=list(answer.get("segments") or []),
        timings=dict(answer.get("timings") or {}),
    )


# --------------------------------------------------------------------------- extension

_LOADED: dict[int, NeiraMagics] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics, the ``Err`` record and the error hook on ``ipython``."""
    if id(ipython) in _LOADED:
        return
    try:
        magics = NeiraMagics(shell=ipython)
    except TraitError as exc:  # e.g. a bad `%config NeiraMagics.x = ...` kept in shell.config
        print(f"neira: ignoring the NeiraMagics settings: {exc}", file=sys.stderr)
        config = copy.deepcopy(ipython.config)
        config.pop("NeiraMagics", None)
        magics = NeiraMagics(shell=ipython, config=config)
    ipython.register_magics(magics)
    ipython.events.register("post_run_cell", magics.record_error)
    ipython.user_ns.setdefault("Err", magics.errors)
    _LOADED[id(ipython)] = magics


def unload_ipython_extension(ipython: Any) -> None:
    """Remove what ``load_ipython_extension`` added."""
    magics = _LOADED.pop(id(ipython), None)
    if magics is None:
        return
    with contextlib.suppress(ValueError):
        ipython.events.unregister("post_run_cell", magics.record_error)
    registry = ipython.magics_manager.magics
    for kind, names in (("cell", ("neira",)), ("line", ("neira", "transcribe"))):
        for name in names:
            registry[kind].pop(name, None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    if ipython.user_ns.get("Err") is magics.errors:
        del ipython.user_ns["Err"]
