"""Guards of the module map: the layer contracts, no import cycle, and a light kernel side.

The layers (which package may import which, and which runtime each may not
touch) are import-linter contracts in ``pyproject.toml``, run here and by
``make lint``. import-linter has no general cycle rule, so the cycle check
builds the import graph from the source (AST), counting every import a module
makes, at the top or inside a function, since a late import only hides a
cycle. The kernel check imports the kernel package in a fresh interpreter and
lists what ended up in ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "neira_jupyter"
FORBIDDEN_IN_KERNEL = ("jupyter_server", "tornado", "llama_cpp", "faster_whisper", "ctranslate2")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the neira_jupyter modules it imports (``from . import x`` resolved)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith("neira_jupyter"):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (a module importing its own package's
    ``__init__`` that re-exports it is a cycle too)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_graph_sees_imports() -> None:
    graph = import_graph()
    assert "neira_jupyter.protocol" in graph["neira_jupyter.server.base"]
    assert "neira_jupyter.kernel.transport" in graph["neira_jupyter.kernel.client"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles() -> None:
    graph = import_graph()
    # a package's __init__ re-exporting its modules is not a cycle by itself: ignore the
    # edges from a module to its own package
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    assert cycles(graph) == []


def test_import_contracts_hold() -> None:
    """The layer rules are import-linter contracts in pyproject.toml (also run by ``make lint``)."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    with (REPO / "pyproject.toml").open("rb") as file:
        contracts = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in out.stdout, out.stdout


def test_kernel_side_imports_no_server_or_model_code() -> None:
    code = (
        "import sys, json\n"
        "import neira_jupyter, neira_jupyter.kernel, neira_jupyter.kernel.client\n"
        "import neira_jupyter.kernel.magics, neira_jupyter.protocol\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    heavy = [m for m in loaded if m.split(".")[0] in FORBIDDEN_IN_KERNEL]
    ours = [m for m in loaded if m.startswith(("neira_jupyter.server", "neira_jupyter.engine"))]
    assert heavy == [] and ours == []
    assert "pydantic" in loaded  # the protocol; httpx comes with the first request
