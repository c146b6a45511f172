"""MemoryWatch: sources behind one interface, pressure levels with hysteresis, GGUF estimates."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import gguf
import pytest

from neira_jupyter.engine import models
from neira_jupyter.engine.routing import (
    MIB,
    FileSource,
    HostSource,
    ManualSource,
    MemoryReading,
    MemorySource,
    MemoryWatch,
    NvmlSource,
    PressureLevel,
    PressureThresholds,
    estimate_model_memory,
    make_source,
)
from neira_jupyter.engine.routing.gguf_header import read_gguf_metadata
from tests.support.helpers import ManualClock


def watch_with(source: MemorySource, **thresholds: float) -> tuple[MemoryWatch, ManualClock]:
    clock = ManualClock()
    options = {"low_mib": 1000, "recover_mib": 2000, "recover_s": 10, **thresholds}
    limits = PressureThresholds(**options)
    return MemoryWatch(source, limits, interval_s=0.01, clock=clock), clock


def test_every_source_speaks_the_same_interface(tmp_path: Path) -> None:
    readings_file = tmp_path / "mem.json"
    readings_file.write_text(json.dumps({"free_mib": 512, "total_mib": 4096}))
    for source in (HostSource(), ManualSource(100, 200), FileSource(readings_file), NvmlSource()):
        assert isinstance(source, MemorySource)
    host = HostSource().read()
    assert host[0].kind == "host" and 0 < host[0].free_bytes <= host[0].total_bytes
    assert FileSource(readings_file).read() == [
        MemoryReading("device:0", "gpu", 512 * MIB, 4096 * MIB, "")
    ]


def test_file_source_reads_several_devices_and_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "mem.json"
    path.write_text(
        json.dumps(
            {
                "devices": [
                    {"device": "cuda:0", "free_mib": 300, "total_mib": 8000},
                    {"device": "cuda:1", "free_mib": 7000, "total_mib": 8000},
                ]
            }
        )
    )
    assert [r.device for r in FileSource(path).read()] == ["cuda:0", "cuda:1"]
    path.write_text("{not json")
    with pytest.raises(RuntimeError, match="not valid JSON"):
        FileSource(path).read()
    path.write_text(json.dumps({"total_mib": 1}))
    with pytest.raises(RuntimeError, match="free_mib"):
        FileSource(path).read()


def test_make_source_names(tmp_path: Path) -> None:
    assert isinstance(make_source("host"), HostSource)
    assert isinstance(make_source("auto", use_gpu=False), HostSource)
    assert isinstance(make_source("nvml"), NvmlSource)
    source = make_source(f"file:{tmp_path / 'm.json'}")
    assert isinstance(source, FileSource) and source.path == tmp_path / "m.json"
    assert isinstance(make_source("neira_jupyter.engine.routing:ManualSource"), ManualSource)
    with pytest.raises(ValueError, match="unknown memory_source"):
        make_source("swap")


def test_auto_without_a_gpu_watches_the_host() -> None:
    # No NVIDIA driver here: NVML cannot initialise, so "auto" falls back to psutil.
    source = make_source("auto", use_gpu=True)
    assert source.name in {"host", "nvml"}
    assert source.read()


def test_pressure_rises_at_once_and_falls_only_after_the_hold_time() -> None:
    source = ManualSource(5000, 8000)
    watch, clock = watch_with(source)
    changes: list[tuple[PressureLevel, PressureLevel]] = []
    watch.add_listener(lambda old, new, _why: changes.append((old, new)))
    assert watch.poll() is PressureLevel.OK

    source.set(900)
    assert watch.poll() is PressureLevel.HIGH
    assert "900 MiB free < 1000 MiB" in watch.reason

    source.set(1500)  # above low, below recover: stays high
    clock.now = 100
    assert watch.poll() is PressureLevel.HIGH

    source.set(2500)
    clock.now = 101
    assert watch.poll() is PressureLevel.HIGH  # recovering starts now
    clock.now = 105
    assert watch.poll() is PressureLevel.HIGH
    source.set(1900)  # dips under recover: the hold starts again
    clock.now = 106
    assert watch.poll() is PressureLevel.HIGH
    source.set(2500)
    clock.now = 107
    assert watch.poll() is PressureLevel.HIGH
    clock.now = 116.9
    assert watch.poll() is PressureLevel.HIGH
    clock.now = 117
    assert watch.poll() is PressureLevel.OK
    assert changes == [
        (PressureLevel.OK, PressureLevel.HIGH),
        (PressureLevel.HIGH, PressureLevel.OK),
    ]


def test_critical_level_and_leaving_it() -> None:
    source = ManualSource(5000, 8000)
    watch, _clock = watch_with(source, critical_mib=200)
    source.set(100)
    assert watch.poll() is PressureLevel.CRITICAL
    source.set(600)
    assert watch.poll() is PressureLevel.HIGH
    source.set(1200)
    assert watch.poll() is PressureLevel.HIGH


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError, match="recover"):
        PressureThresholds(low_mib=2000, recover_mib=1000)
    with pytest.raises(ValueError, match="critical"):
        PressureThresholds(low_mib=1000, recover_mib=2000, critical_mib=1500)


def test_a_failing_source_keeps_the_level_and_reports_the_error(tmp_path: Path) -> None:
    path = tmp_path / "mem.json"
    path.write_text(json.dumps({"free_mib": 10}))
    watch, _clock = watch_with(FileSource(path))
    assert watch.poll() is PressureLevel.HIGH
    path.unlink()
    assert watch.poll() is PressureLevel.HIGH
    status = watch.status()
    assert "FileNotFoundError" in status["error"]
    assert status["level"] == "high" and status["free_mib"] == 10


async def test_background_task_reads_on_its_interval() -> None:
    source = ManualSource(5000, 8000)
    watch = MemoryWatch(source, PressureThresholds(1000, 2000, 0), interval_s=0.01)
    watch.start()
    try:
        source.set(10)
        for _ in range(500):
            if watch.level is PressureLevel.HIGH:
                break
            await asyncio.sleep(0.01)
        assert watch.level is PressureLevel.HIGH
        assert watch.status()["readings"][0]["free_mib"] == 10
    finally:
        await watch.stop()


def test_gguf_metadata_and_estimate_of_the_demo_model() -> None:
    path = models.demo_llm_path()
    assert path is not None, "the demo extra is part of the test setup"
    meta = read_gguf_metadata(path)
    arch = meta["general.architecture"]
    assert meta[f"{arch}.block_count"] > 0
    small = estimate_model_memory(path, 512)
    large = estimate_model_memory(path, 4096)
    assert small.file_bytes == path.stat().st_size
    assert large.kv_bytes == 8 * small.kv_bytes > 0
    assert large.total_bytes > small.total_bytes > small.file_bytes
    assert "layers" in small.note


def _write_gguf(path: Path, arch: str, **numbers: int) -> None:
    """A tensor-less GGUF written by the ``gguf`` package, with a vocabulary array."""
    writer = gguf.GGUFWriter(path, arch)
    writer.add_token_list(["<a>", "<b>"])
    for key, value in numbers.items():
        name = getattr(gguf.Keys.LLM, key, None) or getattr(gguf.Keys.Attention, key)
        writer.add_uint32(name.format(arch=arch), value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_estimate_uses_head_counts_and_skips_arrays(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(
        path,
        "llama",
        BLOCK_COUNT=32,
        EMBEDDING_LENGTH=4096,
        HEAD_COUNT=32,
        HEAD_COUNT_KV=8,
    )
    estimate = estimate_model_memory(path, 4096)
    # Mistral-7B-like: 2 x 4096 ctx x 32 layers x 8 heads x 128 dims x 2 bytes = 512 MiB
    assert estimate.kv_bytes == 512 * MIB


def test_header_reader_agrees_with_the_gguf_package(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, "qwen2", BLOCK_COUNT=24, EMBEDDING_LENGTH=896, HEAD_COUNT=14)
    reader = gguf.GGUFReader(path, "r")
    theirs = {
        name: field.contents()
        for name, field in reader.fields.items()
        if not name.startswith("GGUF.") and field.types[0] is not gguf.GGUFValueType.ARRAY
    }
    assert read_gguf_metadata(path) == theirs
    assert theirs["qwen2.block_count"] == 24 and "tokenizer.ggml.tokens" in reader.fields


def test_estimate_of_a_corrupt_file_is_its_size(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"this is not a model" * 100)
    estimate = estimate_model_memory(path, 2048)
    assert estimate.kv_bytes == 0 and "not a GGUF file (bad magic)" in estimate.note
    path.write_bytes(b"GGUF" + b"\x03\0\0\0" + b"\xff" * 4)  # cut inside the header
    assert "truncated GGUF header" in estimate_model_memory(path, 2048).note
    with pytest.raises(OSError):
        estimate_model_memory(tmp_path / "missing.gguf", 2048)
