"""``jupyter neira doctor``: does this install really do what its configuration asks?

For an administrator (and a bug report): the llama.cpp build (CPU features,
CUDA or not), the GPUs NVML sees and whether the memory watch reads them,
then for each configured model its memory estimate against what is free, a
load with the configured offload (the layers that really went to the GPU)
and a short decode at 1 and 8 concurrent sequences through the engine's
batch loop, and Whisper's device, compute type and one transcription. Each
check has a verdict and, when it is not ``ok``, the fix.

Modules: ``report`` (``Check``, ``Report``, the text rendering), ``system``
(build, GPUs, memory watch), ``llama_log`` (where llama.cpp put the layers),
``llm`` (a model's memory, load and decode), ``speech`` (Whisper), ``run``
(all of them in order) and ``app`` (the command line, reading the server's
configuration).
"""

from __future__ import annotations

from .report import Check, Report, Verdict, render_text
from .run import DoctorOptions, run_doctor

__all__ = ["Check", "DoctorOptions", "Report", "Verdict", "render_text", "run_doctor"]
