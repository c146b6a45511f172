"""Prompts and chat messages that several test modules send.

One copy of each, so that modules asking the demo model the same thing ask it
in the same words (greedy decoding then gives the same answer), and request
models are checked against the same small chat.
"""

from __future__ import annotations

from typing import Any

# greedy decoding keeps counting: an answer that runs until max_tokens or a cancel
COUNTING = "Count from 1 to 300, separated by commas: 1, 2, 3, 4, 5,"
PROMPT = "List three colours of the rainbow."
MESSAGES: list[Any] = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "Name a colour of the rainbow."},
]
# the smallest chat a request model accepts
USER = [{"role": "user", "content": "hi"}]
