"""The engine: resident models, correction, scheduling and routing.

Nothing in this package imports Jupyter; it could run under any server (the
Jupyter extension, a JupyterHub service). Heavy runtimes (llama_cpp,
faster_whisper, av) are imported lazily by the modules that need them.
"""
