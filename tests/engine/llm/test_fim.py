"""FIM templates (each family through its template, tokens as strings) and the code stop rules.

No model here: the demo model's FIM is tested end to end in ``test_infill.py``
and through the servers.
"""

from __future__ import annotations

import pytest

from neira_jupyter.engine.llm.code_stops import CodeStop
from neira_jupyter.engine.llm.fim import (
    TEMPLATES,
    FimTemplate,
    Marker,
    detect_template,
    template_for_prefix,
)
from neira_jupyter.engine.llm.sampling import TextStream

PREFIX, SUFFIX = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"

LAYOUTS = {
    "qwen": "<|fim_prefix|>{p}<|fim_suffix|>{s}<|fim_middle|>",
    "starcoder": "<fim_prefix>{p}<fim_suffix>{s}<fim_middle>",
    "santacoder": "<fim-prefix>{p}<fim-suffix>{s}<fim-middle>",
    "deepseek": "<｜fim▁begin｜>{p}<｜fim▁hole｜>{s}<｜fim▁end｜>",
    "codellama": "▁<PRE> {p}▁<SUF>{s}▁<MID>",
    "codestral": "[SUFFIX]{s}[PREFIX]{p}",
}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_each_family_lays_out_its_prompt(template: FimTemplate) -> None:
    assert template.render(PREFIX, SUFFIX) == LAYOUTS[template.family].format(p=PREFIX, s=SUFFIX)
    markers = [p.text for p in template.pieces(PREFIX, SUFFIX) if isinstance(p, Marker)]
    assert set(markers) == set(template.markers)
    # the vocabulary decides: a model with exactly these markers gets this family
    assert detect_template(set(template.markers).__contains__) is template
    assert template_for_prefix(template.prefix) is template


def test_marker_text_in_the_code_stays_text():
    template = template_for_prefix("<|fim_prefix|>")
    assert template is not None
    pieces = template.pieces("s = '<|fim_middle|>'", "")
    assert pieces == [
        Marker("<|fim_prefix|>"),
        "s = '<|fim_middle|>'",
        Marker("<|fim_suffix|>"),
        Marker("<|fim_middle|>"),
    ]


def test_detection():
    assert detect_template(set().__contains__) is None  # no FIM tokens: instruction prompt
    half = {"<|fim_prefix|>", "<|fim_suffix|>"}
    assert detect_template(half.__contains__) is None  # every marker must be a token
    codestral = detect_template({"[PREFIX]", "[SUFFIX]"}.__contains__, "[PREFIX]")
    assert codestral is not None and codestral.suffix_first
    llama = detect_template({"▁<PRE>", "▁<SUF>", "▁<MID>"}.__contains__, "<PRE>")
    assert llama is not None and llama.family == "codellama"


def stream(prefix: str, suffix: str, output: str, **rule: object) -> tuple[str, list[str]]:
    """What a client is shown of ``output`` written token by token (here: char by char)."""
    text = TextStream(("<|endoftext|>",), CodeStop(prefix, suffix, **rule))  # type: ignore[arg-type]
    shown: list[str] = []
    for ch in output:
        shown.append(text.feed(ch.encode()))
        if text.stopped:
            break
    shown.append(text.flush())
    return "".join(shown), shown


@pytest.mark.parametrize(
    ("prefix", "suffix", "output", "expected"),
    [
        # the six gaps of the issue, with the model running on past the gap
        (PREFIX, SUFFIX, "a + b\n\nprint(add(1, 2))", "a + b"),
        ("m = np.mean(", ")\nprint(m)", "x))\nprint(m)", "x"),
        ("total = ", "\nfor x in xs:\n    total += x", "0\nfor x in xs:\n", "0"),
        (
            "for i, n in ",
            ":\n    print(i, n)",
            "enumerate(names):\n    print(i, n)",
            "enumerate(names)",
        ),
        ("with open(p) as f:\n    text = f.", "\n", "read()\n    # the text\n", "read()"),
        ("data = json.", "(f)\n", "load(f)\n", "load"),
        # a gap inside brackets keeps the brackets it needs
        ("print(", ")\n", "np.mean(x))", "np.mean(x)"),
        ("print(", ")\n", "np.mean(x)", "np.mean(x)"),
        # end of the block: a line indented less than the cursor's
        (
            "def f(x):\n    y = x\n    ",
            "",
            "z = y * 2\n    return z\ndef g():\n",
            "z = y * 2\n    return z",
        ),
        # the first line after the cursor, repeated
        ("def f(x):\n    ", "\n    return y\n", "y = x\n    return y\n", "y = x"),
    ],
)
def test_stop_rules(prefix, suffix, output, expected):
    assert stream(prefix, suffix, output)[0] == expected


def test_nothing_shown_is_taken_back():
    """Held-back text is released only once it is sure to stay: the pieces add up."""
    shown, pieces = stream("m = np.mean(", ")", "x))")
    assert pieces[:-1] == ["x", "", ""] and shown == "x"


def test_max_lines_and_fences():
    assert stream("", "", "a = 1\nb = 2\nc = 3\n", max_lines=2)[0] == "a = 1\nb = 2"
    fenced = stream("", "", "```python\nx = 1\n```\nmore", fenced=True)
    assert fenced[0] == "x = 1"
    assert stream("", "", "x = 1\n```", fenced=True)[0] == "x = 1"
