#!/usr/bin/env bash
# Make what the GPU run carries (benchmarks/gpu/bundle/, git-ignored), on a machine with network:
#   - llama-cpp-python's source archive, trimmed (trim_sdist.py): the installed version's, from
#     pip's cache or PyPI (or NEIRA_LLAMA_SDIST=path/to/llama_cpp_python-X.tar.gz);
#   - the wheels of requirements.txt for CPython 3.12 on x86-64 Linux (pip download);
# then checks that the bundle and the checkout's files together stay under 64 MiB.
#   bash benchmarks/gpu/make_bundle.sh        (PYTHON=.venv/bin/python by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
BUNDLE=benchmarks/gpu/bundle
LIMIT_MIB=64
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/wheels" "$BUNDLE/sdist"

version=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('llama-cpp-python'))")
"$PYTHON" benchmarks/gpu/trim_sdist.py "$BUNDLE/sdist/llama_cpp_python-$version.tar.gz" \
  ${NEIRA_LLAMA_SDIST:+--sdist "$NEIRA_LLAMA_SDIST"}

"$PYTHON" -m pip download -q -d "$BUNDLE/wheels" --only-binary=:all: \
  --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 \
  --platform linux_x86_64 -r benchmarks/gpu/requirements.txt

# what travels: tracked and untracked-but-not-ignored files, plus the bundle
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1)
bundle=$(du -sb "$BUNDLE" | cut -f1)
total=$((tree + bundle))
"$PYTHON" -c "import sys; t, b = (int(x) / 2**20 for x in sys.argv[1:]); \
print(f'checkout {t:.1f} MiB + bundle {b:.1f} MiB = {t + b:.1f} MiB (limit $LIMIT_MIB MiB)')" \
  "$tree" "$bundle"
if [ "$total" -ge $((LIMIT_MIB * 1048576)) ]; then
  echo "too big to carry" >&2
  exit 1
fi
