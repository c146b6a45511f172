"""Structured output: the llama.cpp grammar (GBNF) that makes an answer JSON.

``json_grammar`` turns a JSON Schema (its JSON text; ``ANY_OBJECT`` for
OpenAI's ``json_object``) into GBNF with llama-cpp-python's converter, so a
sequence sampled under it is JSON that follows the schema (unless
``max_tokens`` cuts it short). Two changes to the converter's output: a
string may not hold raw control characters (JSON forbids them; the
converter allows them), and the result is cached per schema, since clients
send the same schema again and again. A schema the converter cannot follow
is a ``BadRequest`` naming the field.
"""

from __future__ import annotations

from functools import lru_cache

from ..types import BadRequest

__all__ = ["ANY_OBJECT", "GrammarRefused", "json_grammar"]

ANY_OBJECT = '{"type": "object"}'
"""The schema of OpenAI's ``response_format: {"type": "json_object"}``."""


class GrammarRefused(ValueError):
    """llama.cpp could not parse a grammar (GBNF): the request that brought it is at fault."""


_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


@lru_cache(maxsize=64)
def json_grammar(schema: str, field: str = "response_format.json_schema.schema") -> str:
    """The GBNF of JSON text following ``schema`` (a JSON Schema, as JSON text); an error
    names the request's ``field`` that held the schema."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        grammar = json_schema_to_gbnf(schema)
    except RecursionError:
        raise BadRequest(f"field '{field}' nests too deeply") from None
    except Exception as exc:  # the converter raises what it meets: the schema is at fault
        raise BadRequest(f"field '{field}' cannot be turned into a grammar: {exc}") from None
    return grammar.replace(_LOOSE_CHAR, _JSON_CHAR)
