"""What runs inside the kernel: the client that finds the server, the magics, the widgets.

Must import without llama_cpp, faster_whisper or jupyter_server.
"""
