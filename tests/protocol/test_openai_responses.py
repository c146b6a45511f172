"""``v1/responses`` without a server: the request model, its refusals, the store, the answers.

Items become the chat messages ``api/generate`` takes (calls join the
assistant message before them, outputs become tool messages); every field
the server cannot honour is refused naming its ``param``; the store keeps
each user's responses apart, bounded and for its time; the response object
and its events (a failure too) follow the spec's schemas.
"""

from __future__ import annotations

from typing import Any

import pytest

from neira_jupyter.protocol import ChatMessage, ProtocolError, parse
from neira_jupyter.protocol.openai import openai_error
from neira_jupyter.protocol.openai_response_items import MessageItem
from neira_jupyter.protocol.openai_response_objects import (
    OutputMessage,
    OutputText,
    ResponseErrorDetail,
    ResponseLifecycleEvent,
    ResponseObject,
)
from neira_jupyter.protocol.openai_responses import ResponseRequest, items_as_chat
from neira_jupyter.serving.response_store import ResponseStore
from tests.support.helpers import ManualClock
from tests.support.openai_spec import check

CALL = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
TOOL = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}


def test_items_become_one_conversation() -> None:
    request = parse(
        ResponseRequest,
        {
            "model": "m",
            "instructions": "be brief",
            "input": [
                {"role": "developer", "content": "no jokes"},
                {"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": "hi"}]},
                {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "let me look", "annotations": []}]},
                CALL,
                {**CALL, "call_id": "call_2"},
                {"type": "function_call_output", "call_id": "call_1", "output": "1"},
                {"type": "function_call_output", "call_id": "call_2",
                 "output": [{"type": "input_text", "text": "2"}]},
            ],
            "tools": [TOOL],
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_object", "schema": {"type": "object"}}},
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "truncation": "disabled",
            "reasoning": {"effort": "none"},
        },
    )  # fmt: skip
    chat = items_as_chat(request.items)
    assert [(m.role, m.content) for m in chat] == [
        ("system", "no jokes"), ("user", "hi"), ("assistant", "let me look"),
        ("tool", "1"), ("tool", "2"),
    ]  # fmt: skip
    assert [c.id for c in chat[2].tool_calls or []] == ["call_1", "call_2"]
    assert request.json_schema == {"type": "object"} and not request.stores
    assert request.chat_tool_choice() is not None
    [item] = parse(ResponseRequest, {"model": "m", "input": "hi"}).items
    assert isinstance(item, MessageItem) and item.role == "user"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": []}, "input"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
         "input[0].message.content[0].type"),
        ({"tools": [{"type": "file_search"}]}, "tools[0].type"),
        ({"tools": [{**TOOL, "defer_loading": True}]}, "tools[0].defer_loading"),
        ({"tool_choice": {"type": "function", "name": "g"}, "tools": [TOOL]}, "tool_choice"),
        ({"include": ["message.output_text.logprobs"]}, "include"),
        ({"text": {"verbosity": "low"}}, "text.verbosity"),
        ({"reasoning": {"summary": "auto"}}, "reasoning.summary"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "p"}}, "prompt"),
        ({"stream_options": {"include_obfuscation": False}}, "stream_options"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"gpt": 1}, "gpt"),
    ],
)  # fmt: skip
def test_what_cannot_be_served_is_refused_by_name(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse(ResponseRequest, {"model": "m", "input": "hi", **fields})
    assert openai_error(400, str(refused.value)).error.param == param, str(refused.value)


def _response(response_id: str, status: Any = "completed", **extra: Any) -> ResponseObject:
    return ResponseObject(
        id=response_id, created_at=1, status=status, instructions=None, model="m",
        output=[OutputMessage(id="msg_1", status="completed", content=[OutputText(text="hi")])],
        parallel_tool_calls=True, previous_response_id=None, max_output_tokens=None,
        max_tool_calls=None, temperature=None, top_p=None, text={"format": {"type": "text"}},
        tool_choice="auto", tools=[], metadata={}, store=True, **extra,
    )  # fmt: skip


def test_the_store_keeps_each_users_own_bounded_and_for_its_time() -> None:
    clock = ManualClock()
    store = ResponseStore(per_user=2, ttl_s=60, clock=clock)
    said = [ChatMessage(role="user", content="hi")]
    for name in ("a", "b", "c"):
        store.put("alice", _response(f"resp_{name}"), said)
    assert store.get("alice", "resp_a") is None  # the oldest went first
    assert store.get("bob", "resp_b") is None  # never another user's
    assert not store.delete("bob", "resp_b")
    kept = store.get("alice", "resp_b")
    assert kept is not None and list(kept.conversation) == said
    clock.now = 61
    assert store.get("alice", "resp_c") is None  # expired
    assert not ResponseStore(per_user=0, ttl_s=60).enabled


def test_the_answers_follow_the_spec() -> None:
    check("Response", _response("resp_1").to_dict())
    broke = ResponseErrorDetail(code="server_error", message="it broke")
    failed = _response("resp_1", "failed", error=broke)
    event = ResponseLifecycleEvent(type="response.failed", sequence_number=7, response=failed)
    check("ResponseFailedEvent", event.to_dict())
    created = ResponseLifecycleEvent(
        type="response.created", sequence_number=0, response=_response("resp_1", "in_progress")
    )
    check("ResponseCreatedEvent", created.to_dict())
    assert "usage" not in created.to_dict()["response"]
