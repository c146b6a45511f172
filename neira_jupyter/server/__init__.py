"""The jupyter-server extension: the app (traits, lifecycle) and the HTTP/WebSocket handlers."""
