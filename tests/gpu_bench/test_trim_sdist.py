"""The GPU benchmark's source-archive trimmer, on a small archive shaped like llama-cpp-python's."""

from __future__ import annotations

import tarfile
from pathlib import Path

from trim_sdist import trim

TOP = "llama_cpp_python-9.9.9"
LL = "vendor/llama.cpp/"
KEPT = [
    "pyproject.toml", "README.md", "CMakeLists.txt", "llama_cpp/llama.py",
    LL + "CMakeLists.txt", LL + "src/llama-model.cpp", LL + "include/llama.h",
    LL + "common/arg.cpp", LL + "vendor/nlohmann/json.hpp",
    LL + "ggml/src/ggml.c", LL + "ggml/src/ggml-cpu/ops.cpp",
    LL + "ggml/src/ggml-cuda/ggml-cuda.cu",
    LL + "ggml/src/ggml-cuda/template-instances/fattn-vec-f16.cu",
    LL + "tools/mtmd/clip.cpp", LL + "tools/mtmd/CMakeLists.txt",
]  # fmt: skip
DROPPED = [
    "docs/index.md", "tests/test_llama.py", "examples/high_level_api/x.py",
    ".git/objects/pack/pack-1.pack", LL + ".git/HEAD",
    LL + "models/ggml-vocab-llama-spm.gguf", LL + "docs/build.md", LL + "tests/test-chat.cpp",
    LL + "examples/simple/simple.cpp", LL + "tools/server/server.cpp", LL + "tools/ui/index.html",
    LL + "gguf-py/gguf/gguf_writer.py", LL + "convert_hf_to_gguf.py",
    LL + "ggml/src/ggml-vulkan/ggml-vulkan.cpp", LL + "ggml/src/ggml-metal/ggml-metal.m",
    LL + "ggml/src/ggml-sycl/ggml-sycl.cpp", LL + "ggml/src/ggml-hip/CMakeLists.txt",
    LL + "tools/mtmd/test-3.mp4", LL + "tools/mtmd/tests/test-1-positive.png",
]  # fmt: skip


def test_it_keeps_the_build_and_drops_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "sdist.tar.gz"
    with tarfile.open(source, "w:gz") as tar:
        for name in KEPT + DROPPED:
            path = tmp_path / "tree" / TOP / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"contents of {name}\n")
        tar.add(tmp_path / "tree" / TOP, arcname=TOP)
    target = tmp_path / "trimmed.tar.gz"
    kept, skipped = trim(source, target)
    with tarfile.open(target) as tar:
        files = {m.name.partition("/")[2]: m for m in tar.getmembers() if m.isfile()}
        assert sorted(files) == sorted(KEPT)
        data = tar.extractfile(files["llama_cpp/llama.py"])
        assert data is not None and data.read() == b"contents of llama_cpp/llama.py\n"
    assert skipped >= len(DROPPED) and kept >= len(KEPT)
