"""What Neira is shown of a notebook, shared by the chat persona and ``%neira fix``.

Pure Python over the protocol (no Jupyter, no server): the notebook snapshot
(``snapshot``), the kernel's variables as the probe describes them
(``kernel_probe``, run inside the kernel; ``variables``), and the prompt
built from them within a budget, with the line that says what an answer used
(``prompt``). The chat persona (``chat``) fills it from the browser's snapshot
and a silent look into the kernel; the ``%neira fix`` magic (``kernel``) fills
it from the kernel's own history and namespace; both then ask the same
question with the same system prompt (docs/chat.md).
"""
