"""Pieces of the Gradio app (`app.py`).

Without Gradio (plain functions, unit-tested): `feedback` (SQLite record, edit distance, promotion), `knowledge`
(uploads, entries, tables of the knowledge folder), `history` (the "earlier turns" box), `texts` (the UI texts of
`texts.json`, Chinese and English), `highlight` (message words marked in the passages), `render` (HTML of sources,
drafts, warnings), `evaluation` (runs, comparisons, charts) and `service` (the live Copilot, re-indexing, feedback
actions). With Gradio: `ui` (shared helpers, the static CSS/JS of `static/`, the labels that follow the UI
language), `agent_view` and `admin_views` (the layouts and their handlers).
"""
