"""Trim llama-cpp-python's source archive to what a CPU or CUDA build needs, so it travels.

    python benchmarks/gpu/trim_sdist.py OUT.tar.gz [--sdist llama_cpp_python-X.tar.gz]

Without ``--sdist`` the archive of the installed version is fetched with
``pip download --no-binary :all: --no-deps llama-cpp-python==<version>`` (pip
answers from its cache when it has it). The 73 MiB archive is mostly what no
build reads: llama.cpp's ``models/`` (tokenizer test vocabularies), ``docs/``,
the web UI, examples, tests, benchmarks, the Python conversion scripts and
the GPU backends other than CUDA (Vulkan, Metal, SYCL, ...), both git
histories and test media. ``DROP`` lists them; everything else (llama.cpp's
``src``, ``include``, ``common``, ``vendor``, ``ggml`` with its CPU and CUDA
backends, ``tools/mtmd`` for llama-cpp-python's default llava build, and the
Python package) is kept, so
``pip install --no-build-isolation OUT.tar.gz`` builds as the full archive
does (CUDA with ``CMAKE_ARGS=-DGGML_CUDA=on``).
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.metadata
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["DROP", "dropped", "trim"]

_LLAMA = "vendor/llama.cpp/"
_OTHER_BACKENDS = ("vulkan", "metal", "sycl", "cann", "opencl", "hexagon", "webgpu", "openvino",
                   "et", "virtgpu", "musa", "hip", "zdnn", "kompute", "zendnn")  # fmt: skip
DROP: tuple[str, ...] = (
    # llama-cpp-python's own extras
    "docs/*", "examples/*", "tests/*", "docker/*", ".github/*", "mkdocs.yml",
    ".git/*", "*/.git/*",  # the git history of both (the build reads none of it)
    # llama.cpp: data, documentation, programs and tests no library build reads
    *(_LLAMA + d + "/*" for d in ("models", "docs", "media", "examples", "tests", "benches",
                                 "pocs", "ci", "gguf-py", "scripts", "conversion",
                                 "requirements", "skills", "app", ".devops", ".github",
                                 "licenses", "ggml/examples", "ggml/tests")),
    _LLAMA + "tools/*",  # ... but tools/mtmd, below
    _LLAMA + "convert_*.py", _LLAMA + "*.nix", _LLAMA + "flake.lock",
    *(f"{_LLAMA}ggml/src/ggml-{b}/*" for b in _OTHER_BACKENDS),
)  # fmt: skip
KEEP: tuple[str, ...] = (_LLAMA + "tools/mtmd/*",)
_MEDIA = ("*.mp4", "*.png", "*.jpg", "*.wav", "*.mp3", "*.gguf")  # test inputs, never built


def dropped(relative: str) -> bool:
    """Whether the path (relative to the archive's top folder) is left out."""
    if any(fnmatch.fnmatchcase(relative, pattern) for pattern in _MEDIA):
        return True
    if any(fnmatch.fnmatchcase(relative, pattern) for pattern in KEEP):
        return False
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in DROP)


def trim(source: Path, target: Path) -> tuple[int, int]:
    """Copy the archive ``source`` to ``target`` (gzip) without the dropped paths; the
    numbers of members kept and dropped."""
    kept = skipped = 0
    with tarfile.open(source) as src, tarfile.open(target, "w:gz", compresslevel=9) as dst:
        for member in src:
            _, _, relative = member.name.partition("/")
            if relative and dropped(relative):
                skipped += 1
                continue
            data = src.extractfile(member) if member.isfile() else None
            dst.addfile(member, io.BytesIO(data.read()) if data is not None else None)
            kept += 1
    return kept, skipped


def download_sdist(folder: Path) -> Path:
    """The installed llama-cpp-python version's source archive, from pip (or its cache)."""
    version = importlib.metadata.version("llama-cpp-python")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
         "--no-build-isolation", "-d", str(folder), f"llama-cpp-python=={version}"],
        check=True,
    )  # fmt: skip
    return next(folder.glob("llama_cpp_python-*.tar.gz"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sdist", type=Path, help="the archive to trim (default: pip download)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        sdist = args.sdist or download_sdist(Path(folder))
        kept, skipped = trim(sdist, args.out)
        before, after = sdist.stat().st_size / 2**20, args.out.stat().st_size / 2**20
    print(f"{args.out}: {after:.1f} MiB ({kept} kept, {skipped} dropped; was {before:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
