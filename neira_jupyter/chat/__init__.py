"""Neira in Jupyter's chat: the persona, its backend, its context (docs/chat.md).

Sits above ``server`` (it reads the server's engine or relay from the
tornado settings) and is loaded by jupyter-ai-persona-manager through the
``jupyter_ai.personas`` entry point; nothing of ours imports it.
"""
