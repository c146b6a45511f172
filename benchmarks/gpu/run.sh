#!/usr/bin/env bash
# The GPU run, one command, for a bare NVIDIA machine with nvcc, CMake, ninja, scikit-build-core,
# PyTorch or CuPy and Python 3.12, and no network (benchmarks/gpu/README.md):
#   bash benchmarks/gpu/run.sh            (OUT=dir for the results; default benchmarks/gpu/out)
# 1. installs the carried wheels (benchmarks/gpu/bundle/wheels, made by make_bundle.sh) into a
#    folder of its own, 2. builds llama-cpp-python with CUDA for this card from the trimmed
#    archive, 3. writes a Mistral-7B-shaped GGUF with random weights (and a 1B-shaped fallback),
#    4. runs `python -m neira_jupyter.doctor` on them with gpu_layers=-1, 5. measures through the
#    API (bench_gpu.py) and writes RESULTS.md into OUT and beside this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=benchmarks/gpu
BUNDLE=${NEIRA_GPU_BUNDLE:-$HERE/bundle}
OUT=${OUT:-$HERE/out}
WORK=${NEIRA_GPU_WORK:-/tmp/neira-gpu}
PY=${PYTHON:-$(command -v python3.12 || command -v python3)}
mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/run.log") 2>&1
start=$SECONDS
phases=""
phase() { echo "== $(date -u +%T) +$((SECONDS - start))s $*"; }
took() { phases="$phases$1=$((SECONDS - $2)),"; }

phase "python: $($PY --version), GPU: $(nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader | head -1)"
SITE="$WORK/site"
t=$SECONDS
if ! PYTHONPATH="$SITE" "$PY" -c "import jupyter_server, gguf, pynvml" 2>/dev/null; then
  phase "installing $(ls "$BUNDLE"/wheels | wc -l) carried wheels"
  "$PY" -m pip install -q --no-index --find-links "$BUNDLE/wheels" --target "$SITE" \
    -r "$HERE/requirements.txt"
fi
took wheels $t
export PYTHONPATH="$SITE:$PWD"

t=$SECONDS
if ! "$PY" -c "import llama_cpp, sys; sys.exit(not llama_cpp.llama_supports_gpu_offload())" 2>/dev/null; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
  phase "building llama-cpp-python with CUDA for sm_${arch:-90} on $(nproc) cores (log: $OUT/build.log)"
  # FlashAttention kernels off: neira's batch context does not use them, and they are most of
  # the CUDA compile; the llava library off: nothing here reads images. Portable CPU flags
  # as scripts/setup.sh (-march=native crashes on CPUs with AMX).
  CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=${arch:-90} -DGGML_CUDA_FA=OFF \
-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "$PY" -m pip install -v --no-index --no-deps --no-build-isolation --no-cache-dir \
    --target "$SITE" --upgrade "$BUNDLE"/sdist/llama_cpp_python-*.tar.gz > "$OUT/build.log" 2>&1 \
    || { tail -40 "$OUT/build.log"; exit 1; }
fi
took build $t
"$PY" -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"

t=$SECONDS
MODEL="$WORK/mistral-7b-shaped-random.gguf"
FALLBACK="$WORK/tinyllama-1b-shaped-random.gguf"
[ -f "$MODEL" ] || "$PY" "$HERE/write_gguf.py" "$MODEL" --shape mistral-7b
[ -f "$FALLBACK" ] || "$PY" "$HERE/write_gguf.py" "$FALLBACK" --shape tinyllama-1b --seed 1
took gguf $t

t=$SECONDS
phase "the doctor"
DOCTOR_ARGS=(--NeiraApp.primary_path="$MODEL" --NeiraApp.fallback_path="$FALLBACK"
  --NeiraApp.cuda_enabled=True --NeiraApp.gpu_layers=-1 --NeiraApp.primary_context=2048
  --NeiraApp.fallback_context=2048 --NeiraApp.llm_slots=16 --NeiraApp.memory_source=nvml
  --max-tokens 64)
if [ -n "${NEIRA_GPU_WHISPER:-}" ]; then  # a faster-whisper model folder, if one was brought
  DOCTOR_ARGS+=(--NeiraApp.speech_model_path="$NEIRA_GPU_WHISPER")
else
  DOCTOR_ARGS+=(--NeiraApp.speech_local=False)
fi
NEIRA_BENCH_IGNORE_EOS=1 "$PY" -m neira_jupyter.doctor --json "${DOCTOR_ARGS[@]}" \
  > "$OUT/doctor.json" || echo "(the doctor found a failure: see doctor.json)"
"$PY" - "$OUT/doctor.json" <<'PY' | tee "$OUT/doctor.txt"
import json, sys
from neira_jupyter.doctor.report import Check, Report, render_text
data = json.load(open(sys.argv[1]))
report = Report([Check(**c) for c in data["checks"]], data["machine"], data["config"])
print(render_text(report), end="")
PY
took doctor $t

t=$SECONDS
phase "benchmark through the API"
"$PY" "$HERE/bench_gpu.py" --model "$MODEL" --fallback "$FALLBACK" --out "$OUT" \
  --doctor "$OUT/doctor.json" --phases "${phases}bench=running"
took bench $t
sed -i "s/^- bench=running$/- bench=$((SECONDS - t))/" "$OUT/RESULTS.md"
cp "$OUT/RESULTS.md" "$HERE/RESULTS.md"
phase "done in $((SECONDS - start)) s: $OUT/RESULTS.md"
