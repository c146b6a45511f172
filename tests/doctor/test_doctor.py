"""``jupyter neira doctor``: its verdicts for what is installed here (a CPU build of llama.cpp),
with the GPU readings NVML would give where there is none, or one, and a missing model file.

The configuration is read as the server reads it (Jupyter config files,
``--NeiraApp.x``, the environment); ``--quick`` loads no model, so these run
in seconds. ``test_demo_models_end_to_end`` loads the real demo models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from neira_jupyter.doctor.app import main
from neira_jupyter.doctor.system import driver_present, llama_build_check
from neira_jupyter.engine.llm import llama_supports_gpu

REPO = Path(__file__).resolve().parents[2]
NO_GPU = "--DoctorApp.gpu_source=tests.support.fake_gpu:NO_GPU"
ONE_GPU = "--DoctorApp.gpu_source=tests.support.fake_gpu:ONE_GPU"

pytestmark = pytest.mark.skipif(
    llama_supports_gpu() or driver_present(), reason="these verdicts are a CPU machine's"
)


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Jupyter config directory of the test's own (no config of the machine's)."""
    folder = tmp_path / "jupyter-config"
    folder.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(folder))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(folder))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    return folder


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run the doctor with ``--json``; its exit status and the report."""
    status = main(["--json", *args])
    out, err = capsys.readouterr()
    assert out, f"no report (status {status}): {err}"
    return status, json.loads(out)


def check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["id"] == check_id]
    assert found, f"no check {check_id}: {[c['id'] for c in report['checks']]}"
    return found[0]


def test_a_cpu_build_without_a_gpu_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    status, report = doctor(capsys, "--quick", NO_GPU)
    build = check(report, "llama_build")
    assert build["verdict"] == "ok", build
    assert build["details"]["gpu_offload"] is False
    assert "AVX" in build["details"]["system_info"] or "CPU" in build["details"]["system_info"]
    assert check(report, "gpu")["verdict"] == "skip"
    watch = check(report, "memory_watch")
    assert watch["verdict"] == "ok" and watch["details"]["reads"] == "host"
    assert check(report, "llm.primary.load")["verdict"] == "skip"  # --quick
    assert status == 0 and report["verdict"] == "ok"


def test_a_cpu_build_on_a_gpu_machine_fails_with_the_rebuild(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, report = doctor(capsys, "--quick", ONE_GPU)
    gpu = check(report, "gpu")
    assert gpu["verdict"] == "ok" and gpu["details"]["devices"][0]["name"] == "Fake H100"
    build = check(report, "llama_build")
    assert build["verdict"] == "fail"
    assert "without CUDA" in build["summary"]
    assert "NEIRA_CMAKE_ARGS=-DGGML_CUDA=on" in build["fix"]
    assert status == 1 and report["verdict"] == "fail"


def test_gpu_layers_on_a_cpu_build_is_a_warning() -> None:
    found = llama_build_check(gpus_visible=False, offloads_layers=True)
    assert found.verdict == "warn" and found.fix is not None and "GGML_CUDA" in found.fix


def test_a_missing_model_file_fails_with_the_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "mistral.gguf"
    status, report = doctor(capsys, "--quick", NO_GPU, f"--NeiraApp.primary_path={missing}")
    memory = check(report, "llm.primary.memory")
    assert memory["verdict"] == "fail"
    assert str(missing) in memory["summary"]
    assert "primary_path" in memory["fix"] and "jupyter neira models download" in memory["fix"]
    load = check(report, "llm.primary.load")
    assert load["verdict"] == "skip" and "missing" in load["summary"]
    assert status == 1 and report["verdict"] == "fail"
    assert check(report, "llm.fallback.memory")["verdict"] == "ok"  # the demo fallback is here


def test_it_reads_the_servers_config_files_and_environment(
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from_file = tmp_path / "from-config-file.gguf"
    (config_dir / "jupyter_server_config.py").write_text(
        f"c.NeiraApp.fallback_path = {str(from_file)!r}\n"
        "c.NeiraApp.memory_low_mib = 1e9\nc.NeiraApp.memory_recover_mib = 2e9\n"
    )
    from_env = tmp_path / "from-env.gguf"
    monkeypatch.setenv("LLM_MODEL_PATH", str(from_env))
    _, report = doctor(capsys, "--quick", NO_GPU)
    assert str(from_env) in check(report, "llm.primary.memory")["summary"]
    assert str(from_file) in check(report, "llm.fallback.memory")["summary"]
    watch = check(report, "memory_watch")  # less free than memory_low_mib: the fallback serves
    assert watch["verdict"] == "warn" and "memory_low_mib" in watch["summary"]


def test_a_memory_reading_below_the_threshold_warns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reading = tmp_path / "gpu.json"
    reading.write_text(json.dumps({"device": "cuda:0", "free_mib": 500, "total_mib": 8192}))
    _, report = doctor(capsys, "--quick", NO_GPU, f"--NeiraApp.memory_source=file:{reading}")
    watch = check(report, "memory_watch")
    assert watch["verdict"] == "warn", watch
    assert watch["details"]["readings"][0]["free_mib"] == 500
    assert "fallback" in watch["summary"] and "memory_low_mib" in watch["fix"]


def test_jupyter_neira_doctor_runs_as_a_command(config_dir: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "neira", "doctor", "--json", "--quick", NO_GPU],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "ok"
    assert [c["id"] for c in report["checks"]][:3] == ["llama_build", "gpu", "memory_watch"]
    assert report["machine"]["neira_jupyter"]


def test_the_text_report_says_what_to_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "gone.gguf"
    status = main(["--quick", ONE_GPU, f"--NeiraApp.primary_path={missing}"])
    text = capsys.readouterr().out
    assert status == 1
    assert "[FAIL] llama.cpp build: llama-cpp-python was built without CUDA" in text
    assert f"model file not found: {missing}" in text
    assert "fix: " in text and "overall: fail" in text


@pytest.mark.model
def test_demo_models_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.models import tiny_en_path

    status, report = doctor(
        capsys, NO_GPU, "--max-tokens", "2", "--DoctorApp.roles=primary",
        f"--NeiraApp.speech_model_path={tiny_en_path()}",
    )  # fmt: skip
    load = check(report, "llm.primary.load")
    assert load["verdict"] == "ok", load
    assert load["details"]["device"] == "cpu" and load["details"]["layers_on_gpu"] is None
    decode = check(report, "llm.primary.decode")
    assert decode["verdict"] == "ok", decode
    runs = decode["details"]["runs"]
    assert [r["sequences"] for r in runs] == [1, 8]
    for run in runs:
        assert 0 < run["tokens"] <= 2 * run["sequences"]
        assert run["tokens_per_second"] > 0 and run["first_token_ms_p50"] > 0
    assert not [c for c in report["checks"] if c["id"].startswith("llm.fallback")]
    speech = check(report, "speech")
    assert speech["verdict"] == "ok", speech
    assert speech["details"]["device"] == "cpu" and speech["details"]["compute_type"] == "int8"
    if speech["details"]["clip"] == "espeak-ng":
        assert speech["details"]["words_heard"] >= 0.5, speech["details"]["text"]
    assert status == 0 and report["verdict"] == "ok"


def test_the_json_report_reads_back_into_the_text_one(capsys: pytest.CaptureFixture[str]) -> None:
    """``benchmarks/gpu/run.sh`` prints doctor.txt from doctor.json this way."""
    from neira_jupyter.doctor.report import Check, Report, render_text

    _, data = doctor(capsys, "--quick", NO_GPU)
    report = Report([Check(**c) for c in data["checks"]], data["machine"], data["config"])
    assert report.to_dict() == data
    assert "[ ok ] llama.cpp build: CPU build (no GPU here)" in render_text(report)
