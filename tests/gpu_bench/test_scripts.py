"""The GPU run's shell scripts parse, and its carried wheels cover what the server needs:
every runtime dependency of neira (pyproject.toml) but the speech and kernel stacks, and
llama-cpp-python's own."""

from __future__ import annotations

import importlib.metadata
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

GPU = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu"
REPO = GPU.parents[1]
# not carried: Whisper's stack (no Whisper model fits in 64 MiB), the kernel side (no kernel
# runs), model downloads (no network), the transcript-correction lexicon and Jupyter's chat
# (no chat runs; the server imports neither package, the persona loads through its entry point)
NOT_CARRIED = {"faster-whisper", "av", "huggingface-hub", "wordfreq", "ipython", "anywidget",
               "ipywidgets", "jupyterlab-chat", "jupyter-ai-persona-manager"}  # fmt: skip


@pytest.mark.parametrize("script", ["run.sh", "make_bundle.sh"])
def test_the_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(GPU / script)], check=True)


def carried() -> set[str]:
    lines = (GPU / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(r.name) for r in reqs}


def test_the_wheels_cover_the_servers_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    assert needed - NOT_CARRIED <= carried(), sorted(needed - NOT_CARRIED - carried())
    assert "nvidia-ml-py" in carried()  # the memory watch on NVML


def test_the_wheels_cover_llama_cpp_pythons_dependencies() -> None:
    requires = importlib.metadata.requires("llama-cpp-python") or []
    own = {canonicalize_name(Requirement(r).name) for r in requires if "extra ==" not in r}
    assert own <= carried(), sorted(own - carried())
