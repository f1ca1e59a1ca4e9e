"""Pieces of the Gradio app (`app.py`): the feedback record, knowledge-folder edits, HTML rendering, the
evaluation view's helpers and the service object the handlers call. Each module works without Gradio."""
