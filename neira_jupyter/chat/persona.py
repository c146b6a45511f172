"""``NeiraPersona``: Neira in Jupyter's chat (jupyterlab-chat + jupyter-ai-persona-manager).

Registered under the ``jupyter_ai.personas`` entry point, so it appears in
any chat beside jupyter-ai 3's Jupyternaut, and works without the rest of
jupyter-ai. For each message it reads the user's notebook snapshot (posted
by the lab extension, ``serving.chat_context``), asks the notebook's kernel
for its variables (``chat.variables``: silent, bounded), lays the context
out within the model's context size (``context.prompt``, which ``%neira
fix`` shares), and streams the
answer from this server's engine or the Hub service's relay
(``chat.backend``: the same fair queue, quotas and cancellation as
``api/generate``). The chat's stop control (``cancel_response``) cancels the
generation on the server. Each answer ends with what context it used.

Options (``c.NeiraPersona.x`` in ``jupyter_server_config.py``): which
context sources to use, the context budget, the answer's length, how long
to wait for the kernel (docs/chat.md).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from jupyter_ai_persona_manager import BasePersona, PersonaDefaults
from jupyterlab_chat.models import Message
from traitlets import Bool, Float, Int

from ..context.prompt import ANSWER_TOKENS, FOOTER_MARK, WINDOW_TOKENS, Ask, Sources, ask
from ..context.snapshot import NotebookSnapshot
from ..context.variables import KernelVariables
from ..protocol import ChatMessage, DoneEvent, ErrorEvent, TokenEvent
from ..server.chat_context import SNAPSHOTS_KEY
from .backend import ChatBackend, ChatGeneration
from .variables import kernel_variables

AVATAR = str(Path(__file__).with_name("neira.svg"))
HISTORY_MESSAGES = 4
HISTORY_CHARS = 600
MENTION = re.compile(r"@\S+\s*")


class NeiraPersona(BasePersona):
    """Neira: answers from the resident engine, seeing the notebook and the kernel."""

    include_cells = Bool(True, config=True, help="Show the model the active notebook's cells.")
    include_selection = Bool(True, config=True, help="Show the model the selected text.")
    include_error = Bool(True, config=True, help="Show the model the last error's traceback.")
    include_variables = Bool(
        True, config=True, help="Read the kernel's variables (a silent, bounded execution)."
    )
    context_tokens = Int(
        0, config=True, help="The context window to fill; 0: the local model's (2048 if relayed)."
    )
    answer_tokens = Int(ANSWER_TOKENS, config=True, help="The longest answer, in tokens.")
    variables_timeout = Float(3.0, config=True, help="Seconds to wait for the kernel's variables.")

    _generation: ChatGeneration | None = None

    @property
    def defaults(self) -> PersonaDefaults:
        return PersonaDefaults(
            name="Neira",
            description="The local model of this server: sees your notebook and kernel, "
            "answers in your language. Nothing leaves the machine.",
            avatar_path=AVATAR,
            system_prompt="You are Neira, an assistant inside the user's Jupyter notebook.",
            slash_commands=set(),
        )

    @property
    def sources(self) -> Sources:
        return Sources(
            self.include_cells, self.include_selection, self.include_error, self.include_variables
        )

    def _serverapp(self) -> Any:
        """The Jupyter server this chat runs in (the persona manager's extension's)."""
        node: Any = self
        for _ in range(4):
            node = getattr(node, "parent", None)
            server = getattr(node, "serverapp", None)
            if server is not None:
                return server
        return None

    async def process_message(self, message: Message) -> None:
        server = self._serverapp()
        if server is None:
            self.send_message("Neira is not running in this Jupyter server.")
            return
        settings = server.web_app.settings
        backend = ChatBackend(settings)
        user = backend.user(message.sender)
        question = MENTION.sub("", message.body).strip() or message.body
        store = settings.get(SNAPSHOTS_KEY)
        snapshot = store.get(user) if store is not None else None
        variables: KernelVariables | None = None
        if self.include_variables and snapshot is not None and snapshot.kernel_id:
            self.set_status("is reading the kernel's variables...")
            variables = await kernel_variables(
                server.kernel_manager, snapshot.kernel_id, self.variables_timeout
            )
        asked = self.prompt(question, snapshot, variables, backend, self._history(message))
        generation = backend.generate(user, asked.request)
        self._generation = generation
        try:
            await self.stream_message(self._answer(generation, asked.footer))
        finally:
            self._generation = None

    def prompt(
        self,
        question: str,
        snapshot: NotebookSnapshot | None,
        variables: KernelVariables | None,
        backend: ChatBackend,
        history: list[ChatMessage],
    ) -> Ask:
        """The request for ``question`` (the prompt ``%neira fix`` builds too) and its footer."""
        limits = backend.limits
        return ask(
            question,
            snapshot,
            variables,
            window_tokens=self.context_tokens or backend.context_tokens or WINDOW_TOKENS,
            answer_tokens=self.answer_tokens,
            sources=self.sources,
            history=history,
            max_prompt_chars=limits.max_prompt_chars if limits is not None else None,
        )

    async def _answer(self, generation: ChatGeneration, footer: str) -> AsyncIterator[str]:
        """The answer's text as it streams, then how it ended and what it used."""
        self.set_status()
        ended = ""
        async for event in generation.events():
            if isinstance(event, TokenEvent):
                yield event.text
            elif isinstance(event, ErrorEvent):
                ended = f"\n\n**Neira could not answer:** {event.message}"
            elif isinstance(event, DoneEvent) and event.finish_reason == "cancelled":
                ended = "\n\n*(stopped)*"
        if generation.cancelled and not ended:
            ended = "\n\n*(stopped)*"
        yield ended + footer

    def _history(self, message: Message) -> list[ChatMessage]:
        """The last few messages before this one, as the conversation so far."""
        earlier = []
        for item in self.chat.get_messages():
            if item.id == message.id:
                break
            if item.deleted or not item.body.strip():
                continue
            earlier.append(item)
        turns = []
        for item in earlier[-HISTORY_MESSAGES:]:
            mine = item.sender == self.id
            text = item.body.split(FOOTER_MARK)[0] if mine else MENTION.sub("", item.body)
            content = text.strip()[:HISTORY_CHARS] or "..."
            turns.append(ChatMessage(role="assistant" if mine else "user", content=content))
        while turns and turns[0].role == "assistant":
            turns.pop(0)  # a conversation starts with the user
        return turns

    async def cancel_response(self) -> None:
        """The chat's stop control: cancel the generation on the server."""
        if self._generation is not None:
            self._generation.cancel()
