"""GPU readings for the doctor's tests, where no GPU exists: what NVML would answer.

``NO_GPU`` answers as ``NvmlSource`` does on a machine without a GPU (an
error); ``ONE_GPU`` as it does with one 80 GiB card. The doctor takes either
as ``--DoctorApp.gpu_source=tests.support.fake_gpu:NO_GPU``
(``routing.make_source``'s ``module:attribute``).
"""

from __future__ import annotations

from neira_jupyter.engine.routing import MIB, MemoryReading


class NoGpu:
    """NVML on a machine with no NVIDIA GPU."""

    name = "fake-nvml"

    def read(self) -> list[MemoryReading]:
        raise RuntimeError("NVML reports no GPU")


class OneGpu:
    """NVML on a machine with one GPU, 60 of its 80 GiB free."""

    name = "fake-nvml"

    def read(self) -> list[MemoryReading]:
        return [MemoryReading("cuda:0", "gpu", 60 * 1024 * MIB, 80 * 1024 * MIB, "Fake H100")]


NO_GPU = NoGpu()
ONE_GPU = OneGpu()
