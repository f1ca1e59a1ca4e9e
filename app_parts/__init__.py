"""Pieces of the Gradio app (`app.py`).

Without Gradio (plain functions, unit-tested): `feedback` (SQLite record, edit distance, promotion), `knowledge`
(uploads, entries, tables of the knowledge folder), `render` (HTML of sources, drafts, warnings; UI texts),
`evaluation` (runs, comparisons, charts) and `service` (the live Copilot, re-indexing, feedback actions).
With Gradio: `ui` (shared helpers), `agent_view` and `admin_views` (the layouts and their handlers).
"""
