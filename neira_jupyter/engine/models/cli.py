"""``jupyter neira models list|download|verify|remove``: manage the local models.

``list`` shows the demo models and the catalog with sizes, memory needs and
whether each is on this machine; ``download NAME`` fetches a catalog model
(resumable, with a progress bar; for a demo model it assembles the cached
file); ``verify [NAME ...]`` re-hashes files against their recorded SHA-256
(all present models when no name is given); ``remove NAME`` deletes a
download or an assembled demo file (re-assembled on next use). Exit status:
0 on success, 1 when a download or a check failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from . import catalog, demo, hub

_DEMO_GETTERS: dict[str, Callable[[], Path | None]] = {
    demo.DEMO_LLM_NAME: demo.demo_llm_path,
    demo.DEMO_FALLBACK_NAME: demo.demo_fallback_path,
    demo.DEMO_SPEECH_NAME: demo.demo_speech_path,
    demo.DEMO_SPEECH_EN_NAME: demo.demo_speech_en_path,
    demo.DEMO_EMBEDDING_NAME: demo.demo_embedding_path,
}
_DEMO_ROLES = {
    demo.DEMO_LLM_NAME: "demo primary LLM",
    demo.DEMO_FALLBACK_NAME: "demo fallback LLM",
    demo.DEMO_SPEECH_NAME: "demo speech (default)",
    demo.DEMO_SPEECH_EN_NAME: "demo speech, English only",
    demo.DEMO_EMBEDDING_NAME: "demo embeddings (English)",
}
OPTIONS_OF_ROLE = {
    "llm": ("primary_path", "fallback_path"),
    "embedding": ("embedding_model_path",),
}
"""The options that take a downloaded catalog model, by its ``role``."""


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def _demo_state(name: str) -> str:
    item = demo.DEMO_FILES.get(name)
    if item is not None and item.target.is_file():
        return f"assembled  {item.target}"
    if item is not None:
        try:
            item.sources()
        except ImportError:
            return "not installed (pip install 'neira-jupyter[demo]')"
        return "installed, assembled on first use"
    path = _DEMO_GETTERS[name]()
    return f"installed  {path}" if path else "not installed (pip install 'neira-jupyter[demo]')"


def cmd_list() -> int:
    print(f"{'NAME':26} {'ROLE':27} STATE")
    for name, role in _DEMO_ROLES.items():
        print(f"{name:26} {role:27} {_demo_state(name)}")
    print()
    print(f"{'NAME':26} {'FILE SIZE':>10} {'MEMORY':>8}  STATE")
    for entry in catalog.CATALOG.values():
        path = hub.local_path(entry.name)
        state = f"downloaded  {path}" if path.is_file() else "not downloaded"
        memory = f"{entry.memory_gib:g} GiB"
        print(f"{entry.name:26} {_gib(entry.size_bytes):>10} {memory:>8}  {state}")
        print(f"{'':26} {entry.description} ({entry.repo_id}/{entry.filename})")
        print(f"{'':26} set as: {' or '.join(OPTIONS_OF_ROLE[entry.role])}")
    return 0


def cmd_download(name: str) -> int:
    if name in _DEMO_GETTERS:
        path = _DEMO_GETTERS[name]()
        if path is None:
            print(f"{name}: not installed (pip install 'neira-jupyter[demo]')", file=sys.stderr)
            return 1
        print(path)
        return 0
    entry = catalog.lookup(name)
    print(f"downloading {name}: {_gib(entry.size_bytes)}, needs about {entry.memory_gib:g} GiB")
    try:
        done = hub.download(name)
    except Exception as exc:  # network and checksum errors are reported, not raised
        print(f"download failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{done.path}\nsha256 {done.sha256}")
    option = OPTIONS_OF_ROLE[entry.role][0]
    print(f"use it: c.NeiraApp.{option} = {str(done.path)!r}")
    return 0


def cmd_verify(names: list[str]) -> int:
    if not names:
        names = [n for n in demo.DEMO_FILES if demo.DEMO_FILES[n].target.is_file()]
        names += [n for n in catalog.CATALOG if hub.local_path(n).is_file()]
    failed = 0
    for name in names:
        problem = demo.verify_demo(name) if name in _DEMO_GETTERS else hub.verify(name)
        print(f"{name}: {'OK' if problem is None else problem}")
        failed += problem is not None
    return 1 if failed else 0


def cmd_remove(name: str) -> int:
    item = demo.DEMO_FILES.get(name)
    if item is not None:
        removed = item.target.is_file()
        for path in (item.target, item.target.with_name(item.target.name + ".sha256")):
            path.unlink(missing_ok=True)
    elif name in _DEMO_GETTERS:
        print(f"{name} lives inside its package; pip uninstall it instead", file=sys.stderr)
        return 1
    else:
        removed = hub.remove(name)
    print(f"{name}: {'removed' if removed else 'nothing to remove'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (without the leading ``models``) and run the command."""
    names = sorted([*_DEMO_GETTERS, *catalog.CATALOG])
    parser = argparse.ArgumentParser(prog="jupyter neira models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the demo models and the catalog, and what is here")
    fetch = sub.add_parser("download", help="download (resumably) a catalog model")
    fetch.add_argument("name", choices=names)
    check = sub.add_parser("verify", help="re-hash models against their SHA-256")
    check.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(names)}")
    drop = sub.add_parser("remove", help="delete a downloaded or assembled model")
    drop.add_argument("name", choices=names)
    args = parser.parse_args(argv)
    if args.command == "list":
        return cmd_list()
    if args.command == "download":
        return cmd_download(args.name)
    if args.command == "verify":
        unknown = sorted(set(args.names) - set(names))
        if unknown:
            parser.error(f"unknown model {unknown[0]!r}; known models: {', '.join(names)}")
        return cmd_verify(args.names)
    return cmd_remove(args.name)
