"""``neira/v1/embeddings`` driven by the official ``openai`` client and LangChain.

A real jupyter server with the demo all-MiniLM-L6-v2 (no LLM, no Whisper).
Strings, lists and token arrays embed; base64 decodes to the same floats;
``dimensions`` other than 384, empty and too long inputs, too many inputs and
an unknown model are refused naming the field; the raw answers follow the
spec's ``CreateEmbeddingResponse``. A LangChain ``OpenAIEmbeddings`` with its
in-memory vector store finds each English question's paragraph; the
Russian score is printed (the demo model is English-only), not asserted.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import numpy as np
import openai
import pytest
from openai import OpenAI

from neira_jupyter.engine.models import DEMO_EMBEDDING_NAME
from tests.conftest import Fetch
from tests.support.openai_spec import check

MODEL = DEMO_EMBEDDING_NAME

EN = [
    ("Paris is the capital of France and its largest city.", "What is the capital of France?"),
    ("Python is a programming language created by Guido van Rossum.", "Who created Python?"),
    ("The Nile is the longest river in Africa.", "Which river is the longest in Africa?"),
    (
        "Photosynthesis turns light, water and carbon dioxide into sugar.",
        "How do plants make sugar?",
    ),
    ("Mount Everest is the highest mountain above sea level.", "What is the highest mountain?"),
]
RU = [
    ("Париж является столицей Франции и её крупнейшим городом.", "Какая столица у Франции?"),
    ("Python - язык программирования, созданный Гвидо ван Россумом.", "Кто создал Python?"),
    ("Нил - самая длинная река в Африке.", "Какая река самая длинная в Африке?"),
    ("Фотосинтез превращает свет, воду и углекислый газ в сахар.", "Как растения делают сахар?"),
    ("Эверест - самая высокая гора над уровнем моря.", "Какая гора самая высокая?"),
]


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"llm_enabled": False, "speech_local": False, "embedding_max_inputs": 8}


def raw(client: OpenAI, **fields: Any) -> dict[str, Any]:
    """The answer's JSON as the server sent it (``fields`` built at run time)."""
    embeddings: Any = client.embeddings.with_raw_response
    document: dict[str, Any] = embeddings.create(**fields).http_response.json()
    return document


def vectors(document: dict[str, Any]) -> np.ndarray:
    assert [item["index"] for item in document["data"]] == list(range(len(document["data"])))
    return np.array([item["embedding"] for item in document["data"]])


async def test_openai_client_embeds_strings_lists_and_tokens(
    jp_fetch: Fetch, client: OpenAI
) -> None:
    one = await asyncio.to_thread(raw, client, model=MODEL, input="hello world",
                                  encoding_format="float")  # fmt: skip
    check("CreateEmbeddingResponse", one)
    assert one["model"] == MODEL and one["object"] == "list"
    assert one["usage"]["prompt_tokens"] == one["usage"]["total_tokens"] == 4  # [CLS] 2 [SEP]
    first = vectors(one)[0]
    assert first.shape == (384,) and abs(np.linalg.norm(first) - 1) < 1e-4

    many = await asyncio.to_thread(raw, client, model=MODEL, input=["a cat", "hello world"],
                                   encoding_format="float", dimensions=384, user="ada")  # fmt: skip
    check("CreateEmbeddingResponse", many)
    assert np.allclose(vectors(many)[1], first, atol=1e-5)
    assert not np.allclose(vectors(many)[0], first, atol=1e-2)

    # token ids of the model's own (WordPiece) vocabulary: hello=7592, world=2088
    for tokens in ([7592, 2088], [[7592, 2088], [7592]]):
        ids = await asyncio.to_thread(raw, client, model=MODEL, input=tokens,
                                      encoding_format="float")  # fmt: skip
        check("CreateEmbeddingResponse", ids)
        assert float(vectors(ids)[0] @ first) > 0.99

    b64 = await asyncio.to_thread(raw, client, model=MODEL, input="hello world",
                                  encoding_format="base64")  # fmt: skip
    decoded = np.frombuffer(base64.b64decode(b64["data"][0]["embedding"]), dtype="<f4")
    assert np.array_equal(decoded, first.astype(np.float32))

    # the client's own default (it asks for base64 and decodes it)
    parsed = await asyncio.to_thread(client.embeddings.create, model=MODEL, input=["hello world"])
    assert np.allclose(parsed.data[0].embedding, first, atol=1e-6)


@pytest.mark.parametrize(
    ("fields", "status", "param", "words"),
    [
        ({"input": "x", "dimensions": 128}, 400, "dimensions", "cannot shorten"),
        ({"input": ""}, 400, None, "input"),
        ({"input": ["fine", "word " * 600]}, 400, "input", "input[1] has 602 tokens"),
        ({"input": ["x"] * 9}, 400, "input", "at most 8"),
        ({"input": [[1, 30522]]}, 400, "input", "outside the model's vocabulary"),
        ({"input": "x", "model": "nope"}, 404, "model", "does not exist"),
        ({"input": "x", "encoding_format": "int8"}, 400, None, "encoding_format"),
    ],
)
async def test_refusals_name_the_field(
    jp_fetch: Fetch,
    client: OpenAI,
    fields: dict[str, Any],
    status: int,
    param: str | None,
    words: str,
) -> None:
    request = {"model": MODEL, **fields}
    with pytest.raises(openai.APIStatusError) as caught:
        await asyncio.to_thread(raw, client, **request)
    assert caught.value.status_code == status
    body: Any = caught.value.body
    check("ErrorResponse", {"error": body})
    assert words in body["message"]
    if param is not None:
        assert body["param"] == param


async def test_listed_in_v1_models(jp_fetch: Fetch, client: OpenAI) -> None:
    models = await asyncio.to_thread(client.models.list)
    assert MODEL in [m.id for m in models.data]


def retrieval_hits(v1_url: str, token: str, pairs: list[tuple[str, str]]) -> int:
    """How many questions find their own paragraph: LangChain's ``OpenAIEmbeddings`` on
    neira, in LangChain's in-memory vector store (cosine similarity)."""
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_openai import OpenAIEmbeddings

    options: dict[str, Any] = {  # base_url and api_key are aliases mypy does not see
        "model": MODEL,
        "base_url": v1_url,
        "api_key": token,
        "check_embedding_ctx_length": False,  # send strings, not tiktoken ids
    }
    store = InMemoryVectorStore(embedding=OpenAIEmbeddings(**options))
    store.add_texts([paragraph for paragraph, _ in pairs])
    return sum(
        store.similarity_search(question, k=1)[0].page_content == paragraph
        for paragraph, question in pairs
    )


async def test_langchain_retrieval_finds_the_paragraph(
    jp_fetch: Fetch, v1_url: str, token: str
) -> None:
    english = await asyncio.to_thread(retrieval_hits, v1_url, token, EN)
    russian = await asyncio.to_thread(retrieval_hits, v1_url, token, RU)
    print(f"retrieval with {MODEL}: English {english}/5, Russian {russian}/5")
    assert english == len(EN)
