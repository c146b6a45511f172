"""The models an OpenAI request may name: ``GET v1/models`` and the check of ``model``.

The configured LLMs (primary, fallback, remote), then the speech model (the
local one, else the remote transcription server's) and its alias
``whisper-1``, the name most OpenAI clients send, then the embedding model.
A request may name only a listed model (never a path): another name is a 404
``model_not_found``, a model of the other kind a 400 ``wrong_kind``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Literal

from ..engine.service import NeiraEngine
from ..protocol.openai_answers import ModelCard
from ..protocol.openai_audio import SPEECH_ALIAS
from .errors import OpenAIRequestError

ModelKind = Literal["llm", "speech", "embedding"]
_LOADED_AT = int(time.time())
"""``created`` of every listed model: when this module was imported (the server's start)."""


def model_cards(engine: NeiraEngine) -> list[ModelCard]:
    """The models a request may name, in the order ``GET v1/models`` lists them."""
    generation = engine.generation
    models = (generation.primary, generation.fallback, generation.remote)
    llms = [m for m in models if m is not None]
    cards = [ModelCard(id=m.name, created=_LOADED_AT, neira_kind="llm") for m in llms]
    # a remote one when no Whisper is local
    speech = engine.transcription.speech or engine.transcription.speech_remote
    if speech is not None:
        names = dict.fromkeys((speech.name, SPEECH_ALIAS))
        cards += [ModelCard(id=name, created=_LOADED_AT, neira_kind="speech") for name in names]
    if engine.embeddings.spec is not None:
        spec = engine.embeddings.spec
        cards.append(ModelCard(id=spec.name, created=_LOADED_AT, neira_kind="embedding"))
    return cards


def model_not_found(name: str, known: Iterable[str]) -> OpenAIRequestError:
    """404 ``model_not_found``, naming the models there are."""
    listed = ", ".join(known)
    message = f"The model {name!r} does not exist; GET v1/models lists: {listed}"
    return OpenAIRequestError(404, message, "model", "model_not_found")


def model_card(engine: NeiraEngine, name: str) -> ModelCard:
    """The listed model ``name``; ``model_not_found`` when there is none."""
    cards = model_cards(engine)
    card = next((c for c in cards if c.id == name), None)
    if card is None:
        raise model_not_found(name, [c.id for c in cards])
    return card


def check_model(engine: NeiraEngine, name: str, kind: ModelKind) -> None:
    """``name`` must be a listed model of ``kind``: 404 if unknown, 400 if the wrong kind."""
    kinds = {card.id: card.neira_kind for card in model_cards(engine)}
    if name not in kinds:
        raise model_not_found(name, kinds)
    if kinds[name] != kind:
        routes = {"speech": "audio/transcriptions", "embedding": "embeddings"}
        use = routes.get(kinds[name], "a completions route")
        message = f"The model {name!r} is a {kinds[name]} model; use {use}"
        raise OpenAIRequestError(400, message, "model", "wrong_kind")
