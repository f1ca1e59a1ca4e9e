"""The agent's desk: `python app.py` serves three views on one local Gradio server.

- **Agent desk**: message (+ earlier turns) → the saved reply at once and the model draft streaming, each with
  its citations linked to the source passages and its warnings under the sentence they concern; an escalation
  banner; an editable reply; Accept (records feedback and copies the text), Regenerate, Reject with a reason.
- **Knowledge**: sources with counts and indexing state, upload/remove files, FAQ and emergency entries,
  re-index with progress (agents keep the previous index meanwhile), passage browser, expired and flagged entries.
- **Evaluation**: run an eval set, metrics table, recall@k chart, latency histogram, compare with a saved run.
- **Feedback**: the record of accepted/rejected replies, CSV/JSONL export, promote a reply into the knowledge.

The main action is also the API endpoint `/suggest` (message, history) → Suggestion dict (DESIGN §4);
`/feedback` records what an agent sent and `/promote` turns an accepted reply into a past good reply:

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    sug = client.predict("满多少包邮？", "", api_name="/suggest")
    client.predict("满多少包邮？", sug["drafts"][-1]["text"], "accepted", api_name="/feedback")

Run `python app.py --help` for the options (each also has a COPILOT_* environment variable).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Sequence

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline machines: no telemetry calls

import gradio as gr  # noqa: E402

from app_parts import evaluation as ev  # noqa: E402
from app_parts import knowledge as kn  # noqa: E402
from app_parts.render import (COPY_JS, CSS, HEAD, REJECT_REASONS, TEXT, drafts_html, escalation_html,  # noqa: E402
                              sources_html, status_html, t)
from app_parts.service import CopilotService  # noqa: E402
from suggest.errors import UserError  # noqa: E402
from suggest.settings import Settings, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_KNOWLEDGE = ROOT / "data" / "demo-shop"
DEFAULT_INDEX = ROOT / "var" / "demo-index"
DEFAULT_FEEDBACK = ROOT / "var" / "feedback.sqlite3"
DEFAULT_EVAL_SETS = ROOT / "eval" / "sets"
DEFAULT_EVAL_RUNS = ROOT / "var" / "eval-runs"
MAX_UPLOAD = "2mb"
MAX_REPLY_CHARS = 4000
MAX_NOTE_CHARS = 500
STREAM_EVERY_S = 0.08  # at most ~12 page updates a second while the model streams
FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "PingFang SC", "Microsoft YaHei",
         "Noto Sans CJK SC", "sans-serif"]
TOP_LEVEL = "(top level)"
NEW_ENTRY = -1
LIGHT = {"concurrency_id": "light", "concurrency_limit": 4, "api_visibility": "private"}

FEEDBACK_HEADERS = ["#", "time", "status", "reason", "lang", "message", "final reply", "edits", "promoted"]
RECENT_HEADERS = ["#", "time", "status", "message", "final reply", "edits"]
SOURCE_HEADERS = ["source", "kinds", "passages", "status", "last indexed (UTC)"]
PASSAGE_WIDTHS = ["12%", "15%", "8%", "18%", "31%", "9%", "7%"]


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=FONTS,
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def _err(e: Exception) -> gr.Error:
    return gr.Error(str(e), print_exception=False)


def _ui_lang(choice: str, detected: str | None) -> str:
    return choice if choice in ("zh", "en") else (detected if detected in ("zh", "en") else "en")


def _short(text: str, n: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _time(iso: str) -> str:
    return str(iso or "").replace("T", " ")[:19]


# ---------------------------------------------------------------------------------------------------- agent
def _agent_handlers(service: CopilotService) -> dict[str, Callable[..., Any]]:
    """The agent view's handlers (plain functions over the service, kept apart from the layout)."""

    def recent_rows() -> list[list[Any]]:
        return [[r["id"], _time(r["created_at"])[11:], r["status"], _short(r["message"], 40),
                 _short(r["final_text"] or r["reason"], 60), "" if r["edit_distance"] is None else r["edit_distance"]]
                for r in service.feedback.recent(5)]

    def suggest(message: str, history: str, ui_choice: str, _state: dict | None):
        """Generator: yields (banner, status, drafts, sources, reply, draft picker, state) as events arrive."""
        lang = _ui_lang(ui_choice, None)
        try:
            text, turns = service.validate(message, history)
            copilot = service.copilot
        except UserError as e:
            yield (status_html(lang, note=str(e), level="error"), gr.update(), gr.update(), gr.update(),
                   gr.update(), _state)
            return
        state: dict[str, Any] = {"message": text, "history": turns, "suggestion": None, "origin": "",
                                 "draft_text": "", "drafts": [], "shown_at": None, "lang": lang}
        sug = None
        stream_text: str | None = None
        retry: list[str] = []
        errors: list[str] = []
        reply, origin = "", ""
        last = 0.0

        def view(final: bool = False):
            d = sug.to_dict() if sug is not None else {"hits": [], "drafts": [], "message_checks": []}
            drafts = d["drafts"]
            cited = {c for x in drafts for c in x.get("citations", [])}
            ui = _ui_lang(ui_choice, sug.language if sug is not None else None)
            state.update(lang=ui, origin=origin, draft_text=reply if not final else state.get("draft_text", reply),
                         drafts=[{"origin": x["origin"], "text": x["text"]} for x in drafts])
            labels = [t(ui, x["origin"]) for x in drafts]
            picked = next((i for i, x in enumerate(drafts) if x["origin"] == origin), None)
            picker = gr.update(choices=[(lab, i) for i, lab in enumerate(labels)], value=picked,
                               visible=len(drafts) > 1)
            return (status_html(ui, d.get("timings_ms") if final else None,
                                "" if not final else ("; ".join(errors) if errors else ""),
                                "error" if errors else ""),
                    drafts_html(drafts, d["hits"], ui, stream_text=stream_text, retry=retry, errors=errors,
                                message_checks=d.get("message_checks", []),
                                banner=escalation_html(bool(d.get("escalate")), d.get("escalation_reasons", []), ui)),
                    sources_html(d["hits"], ui, text, cited),
                    reply, picker, state)

        events = copilot.run(text, today=service.today(), history=turns or None)
        try:
            for kind, payload in events:
                if kind == "hits":
                    sug = payload
                    state["suggestion"] = sug.to_dict()
                    yield view()
                elif kind == "draft":
                    if payload.origin == "model":
                        stream_text = None
                    if not origin or (origin == "model" and payload.origin == "model"):
                        reply, origin = payload.text, payload.origin
                    yield view()
                elif kind == "token":
                    stream_text = (stream_text or "") + payload
                    if origin in ("", "model"):
                        reply, origin = stream_text, "model"
                    if time.perf_counter() - last >= STREAM_EVERY_S:
                        last = time.perf_counter()
                        yield view()
                elif kind == "restart":
                    retry = list(payload or [])
                    stream_text = ""
                    if origin == "model":
                        reply = ""
                elif kind == "error":
                    errors.append(str(payload))
                    stream_text = None
                elif kind == "done":
                    sug = payload
        except UserError as e:
            errors.append(str(e))
            stream_text = None
        except Exception as e:  # noqa: BLE001 - a backend crash must not take the sources and saved reply away
            errors.append(f"{type(e).__name__}: {e}")
            stream_text = None
        if sug is None:
            yield (status_html(lang, note="; ".join(errors), level="error"), gr.update(), gr.update(),
                   gr.update(), gr.update(), _state)
            return
        if errors and origin == "model":  # a half-written draft is not a starting point
            first = sug.drafts[0] if sug.drafts else None
            reply, origin = (first.text, first.origin) if first else ("", "")
        if errors and not any(e in sug.errors for e in errors):
            sug.errors.extend(errors)
        state["suggestion"] = sug.to_dict()
        state["draft_text"] = reply
        state["shown_at"] = time.time()
        yield view(final=True)

    def pick(index: int | None, state: dict | None):
        if state is None or index is None or not (0 <= int(index) < len(state.get("drafts", []))):
            return gr.update(), state
        d = state["drafts"][int(index)]
        state = {**state, "origin": d["origin"], "draft_text": d["text"]}
        return d["text"], state

    def accept(reply: str, state: dict | None):
        lang = (state or {}).get("lang", "en")
        reply = (reply or "").strip()
        if not reply:
            raise gr.Error("The reply is empty; write or pick a reply before accepting."
                           if lang == "en" else "回复为空，请先填写或选择回复。", print_exception=False)
        if len(reply) > MAX_REPLY_CHARS:
            raise gr.Error(f"The reply is longer than {MAX_REPLY_CHARS} characters.", print_exception=False)
        try:
            checks, _, _ = service.copilot.check(state["message"], reply, today=service.today(),
                                                 history=state.get("history")) if state else ([], False, [])
            rid = service.record(status="accepted", state=state or {}, final_text=reply,
                                 checks=[c.to_dict() for c in checks])
        except UserError as e:
            raise _err(e) from None
        dist = service.feedback.get(rid)["edit_distance"]
        warn = [c.message for c in checks if c.severity in ("error", "warning")]
        note = t(lang, "accepted", id=rid, dist=dist if dist is not None else "–")
        if warn:
            note += " ⚠ " + "; ".join(warn[:3])
        return status_html(lang, (state or {}).get("suggestion", {}).get("timings_ms"), note,
                           "error" if warn else "ok"), recent_rows()

    def reject(reason: str, note: str, state: dict | None):
        lang = (state or {}).get("lang", "en")
        text = " — ".join(x for x in ((reason or "").strip(), (note or "").strip()[:MAX_NOTE_CHARS]) if x)
        try:
            rid = service.record(status="rejected", state=state or {}, reason=text or "unspecified")
        except UserError as e:
            raise _err(e) from None
        return status_html(lang, None, t(lang, "rejected", id=rid), "ok"), recent_rows()

    def clear():
        return ("", "", "", drafts_html([], [], "en"), sources_html([], "en"), "",
                gr.update(choices=[], value=None, visible=False), None)

    def relabel(ui_choice: str, state: dict | None):
        lang = _ui_lang(ui_choice, (state or {}).get("lang"))
        reasons = REJECT_REASONS[lang]
        return (gr.update(label=t(lang, "message"), placeholder=t(lang, "message_ph")),
                gr.update(label=t(lang, "history")),
                gr.update(label=t(lang, "reply")), gr.update(value=t(lang, "suggest")),
                gr.update(value=t(lang, "regenerate")), gr.update(value=t(lang, "clear")),
                gr.update(value="✓ " + t(lang, "accept")), gr.update(value=t(lang, "reject")),
                gr.update(label=t(lang, "reject_reason"), choices=reasons, value=reasons[0]),
                gr.update(label=t(lang, "reject_note")), gr.update(label=t(lang, "use_draft")),
                gr.update(label=t(lang, "recent")))

    return {"suggest": suggest, "pick": pick, "accept": accept, "reject": reject, "clear": clear,
            "relabel": relabel, "recent_rows": recent_rows}


def _agent_view(service: CopilotService, concurrency: int) -> None:
    h = _agent_handlers(service)
    s = service.settings
    en = TEXT["en"]
    with gr.Row(equal_height=False):
        with gr.Column(scale=6, min_width=420):
            message = gr.Textbox(label=en["message"], placeholder=en["message_ph"], lines=4, max_lines=10,
                                 max_length=s.max_message_chars, elem_id="message-box", autofocus=True)
            with gr.Accordion(en["history"], open=False) as hist_acc:
                history = gr.Textbox(show_label=False, placeholder=en["history_ph"], lines=4, max_lines=12,
                                     max_length=4 * s.max_message_chars, elem_id="history-box")
            with gr.Row():
                suggest_btn = gr.Button(en["suggest"], variant="primary", elem_id="suggest-btn", scale=3)
                regen_btn = gr.Button(en["regenerate"], elem_id="regenerate-btn", scale=2)
                clear_btn = gr.Button(en["clear"], elem_id="clear-btn", scale=1, variant="secondary")
            drafts = gr.HTML(drafts_html([], [], "en"), elem_id="drafts-panel")
            pick = gr.Radio(choices=[], label=en["use_draft"], type="value", visible=False, elem_id="draft-pick")
            reply = gr.Textbox(label=en["reply"], lines=6, max_lines=16, max_length=MAX_REPLY_CHARS,
                               elem_id="reply-box", interactive=True)
            with gr.Row():
                accept_btn = gr.Button("✓ " + en["accept"], variant="primary", elem_id="accept-btn", scale=2)
                reject_btn = gr.Button(en["reject"], variant="stop", elem_id="reject-btn", scale=1)
            status = gr.HTML("", elem_id="agent-status")
            with gr.Row():
                reason = gr.Dropdown(REJECT_REASONS["en"], value=REJECT_REASONS["en"][0], label=en["reject_reason"],
                                     scale=2, elem_id="reject-reason")
                note = gr.Textbox(label=en["reject_note"], max_length=MAX_NOTE_CHARS, scale=3, elem_id="reject-note")
        with gr.Column(scale=5, min_width=360):
            with gr.Row():
                ui_choice = gr.Radio([("Auto", "auto"), ("中文", "zh"), ("English", "en")], value="auto",
                                     label="UI language / 界面语言", elem_id="ui-lang", scale=1)
            sources = gr.HTML(sources_html([], "en"), elem_id="sources-panel")
            recent = gr.Dataframe(headers=RECENT_HEADERS, value=h["recent_rows"](), label=en["recent"],
                                  interactive=False, wrap=True, elem_id="recent-feedback", max_height=260,
                                  column_widths=["8%", "13%", "13%", "28%", "30%", "8%"])
    state = gr.State(None)

    outputs = [status, drafts, sources, reply, pick, state]
    labelled = [message, hist_acc, reply, suggest_btn, regen_btn, clear_btn, accept_btn, reject_btn, reason, note,
                pick, recent]
    model_kw = {"concurrency_id": "model", "concurrency_limit": concurrency, "api_visibility": "private",
                "show_progress": "minimal", "show_progress_on": [drafts]}
    for trigger, name in ((suggest_btn.click, "agent_suggest"), (regen_btn.click, "agent_regenerate")):
        trigger(h["suggest"], [message, history, ui_choice, state], outputs, api_name=name, **model_kw).then(
            h["relabel"], [ui_choice, state], labelled, api_visibility="private", queue=False)
    pick.input(h["pick"], [pick, state], [reply, state], **LIGHT)
    accept_btn.click(None, [reply], None, js=COPY_JS, api_visibility="private", queue=False)
    accept_btn.click(h["accept"], [reply, state], [status, recent], **LIGHT)
    reject_btn.click(h["reject"], [reason, note, state], [status, recent], **LIGHT)
    clear_btn.click(h["clear"], None, [message, history, status, drafts, sources, reply, pick, state],
                    api_visibility="private", queue=False)
    ui_choice.change(h["relabel"], [ui_choice, state], labelled, api_visibility="private", queue=False)


# ------------------------------------------------------------------------------------------------ knowledge
def _folders(root: Path) -> list[str]:
    if not root.is_dir():
        return [TOP_LEVEL]
    subs = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts)
                  and p.relative_to(root).parts[0] != "rules")
    return [TOP_LEVEL, *subs]


def _knowledge_view(service: CopilotService) -> list[tuple[Any, Any, Any]]:
    root = service.knowledge_dir

    def info_md() -> str:
        i = service.index_info()
        b = service.build
        line = (f"**{i['passages']} passages** from **{i['files']} files** · indexed {_time(i['built_at'])} UTC · "
                f"embeddings `{i['embedding_model']}` · knowledge folder `{root}`")
        if b.running:
            line += f"\n\n… re-index running: {b.what} {b.done}/{b.total} — agents keep using the previous index"
        elif b.last_error:
            line += f"\n\n⚠ last re-index failed: {b.last_error} — the previous index is still serving"
        if b.history:
            line += "\n\n" + " · ".join(b.history[-3:])
        return line

    def tables():
        copilot = service.copilot
        ps = copilot.retriever.passages
        files = kn.knowledge_files(root)
        return (info_md(), kn.source_rows(root, copilot.retriever.index.manifest, ps),
                gr.update(choices=files, value=None), gr.update(choices=_folders(root)),
                kn.expired_rows(ps, service.today()), kn.flagged_rows(ps))

    def reindex(progress=gr.Progress()):
        def on_progress(done: int, total: int, what: str) -> None:
            progress((done, max(total, 1)), desc=what)

        try:
            summary = service.reindex(on_progress)
        except UserError as e:
            raise _err(e) from None
        note = (f"✓ re-indexed: {summary['passages']} passages, {summary['added']} new or changed, "
                f"{summary['removed']} removed, {summary['reused']} reused, {summary['seconds']:.1f} s")
        if summary.get("errors"):
            note += "\n\n⚠ " + "; ".join(summary["errors"][:5])
        return (note, *tables())

    def cancel():
        return "✕ cancelling…" if service.cancel_reindex() else "no re-index is running"

    def upload(files: list[str] | None, folder: str | None):
        if not files:
            raise gr.Error("Choose one or more .md, .txt, .csv or .jsonl files first.", print_exception=False)
        notes = []
        for f in files:
            original = Path(str(f)).name
            try:
                rel, warnings = kn.save_upload(root, f, original, "" if folder in (None, TOP_LEVEL) else folder,
                                               max_chars=service.settings.chunk_max_chars)
                notes.append(f"✓ saved `{rel}`" + (f" ({'; '.join(warnings[:3])})" if warnings else ""))
            except (UserError, OSError) as e:
                notes.append(f"✕ {original}: {e}")
        notes.append("Press **Re-index** to make the changes live.")
        return ("\n\n".join(notes), None, *tables())

    def remove(rel: str | None):
        if not rel:
            return ("Nothing removed.", *tables())
        try:
            kn.remove_source(root, rel)
        except UserError as e:
            raise _err(e) from None
        return (f"✕ removed `{rel}`. Press **Re-index** to drop its passages.", *tables())

    def entry_list(table: str):
        entries = kn.read_entries(root, table)
        return gr.update(choices=[("+ new entry", NEW_ENTRY), *kn.entry_choices(entries)], value=NEW_ENTRY)

    def load_entry(table: str, row: int | None):
        entries = kn.read_entries(root, table)
        if row is None or row == NEW_ENTRY or not (0 <= int(row) < len(entries)):
            return "", "", "", "", "", ""
        e = entries[int(row)]
        return (e.get("question", ""), e.get("answer", ""), e.get("keywords", ""), e.get("valid_from", ""),
                e.get("valid_until", ""), e.get("tags", ""))

    def save_entry(table, row, question, answer, keywords, valid_from, valid_until, tags):
        entry = {"question": question, "answer": answer, "keywords": keywords, "valid_from": valid_from,
                 "valid_until": valid_until, "tags": tags}
        try:
            index = kn.save_entry(root, table, entry, None if row in (None, NEW_ENTRY) else int(row))
        except UserError as e:
            raise _err(e) from None
        entries = kn.read_entries(root, table)
        return (f"✓ saved row {index + 1} of `{kn.ENTRY_TABLES[table]}`. Press **Re-index** to make it live.",
                gr.update(choices=[("+ new entry", NEW_ENTRY), *kn.entry_choices(entries)], value=index))

    def browse(query: str, kind: str):
        return kn.passage_rows(service.copilot.retriever.passages, query, "" if kind == "all" else kind)

    with gr.Row():
        info = gr.Markdown(elem_id="index-info")
    with gr.Row():
        reindex_btn = gr.Button("↻ Re-index", variant="primary", elem_id="reindex-btn", scale=2)
        cancel_btn = gr.Button("✕ Cancel re-index", elem_id="cancel-reindex-btn", scale=1)
        refresh_btn = gr.Button("↻ Refresh", elem_id="refresh-knowledge-btn", scale=1)
    kstatus = gr.Markdown(elem_id="knowledge-status")
    with gr.Tabs():
        with gr.Tab("Sources"):
            sources = gr.Dataframe(headers=SOURCE_HEADERS, interactive=False, wrap=True, max_height=360,
                                   elem_id="sources-table", column_widths=["34%", "16%", "10%", "22%", "18%"])
            with gr.Row():
                with gr.Column(scale=3):
                    files = gr.File(label=f"Upload documents or tables ({', '.join(kn.ALLOWED_UPLOAD)}; ≤ 2 MB)",
                                    file_count="multiple", file_types=list(kn.ALLOWED_UPLOAD), type="filepath",
                                    height=120, elem_id="upload-files")
                with gr.Column(scale=2):
                    folder = gr.Dropdown(_folders(root), value=TOP_LEVEL, label="Into folder",
                                         allow_custom_value=True, elem_id="upload-folder")
                    upload_btn = gr.Button("↑ Upload", elem_id="upload-btn")
                with gr.Column(scale=2):
                    remove_pick = gr.Dropdown([], label="Remove a file", elem_id="remove-pick")
                    remove_btn = gr.Button("✕ Remove", variant="stop", elem_id="remove-btn")
        with gr.Tab("FAQ & emergency entries"):
            with gr.Row():
                table = gr.Radio([("FAQ (faq/faq.csv)", "faq"), ("Emergency (faq/emergency.csv)", "emergency")],
                                 value="faq", label="Table", scale=2)
                row = gr.Dropdown([("+ new entry", NEW_ENTRY)], value=NEW_ENTRY, label="Entry", scale=3)
            with gr.Row():
                question = gr.Textbox(label="Question", lines=2, max_length=1000)
                answer = gr.Textbox(label="Answer", lines=2, max_length=4000)
            with gr.Row():
                keywords = gr.Textbox(label="Keywords (';'-separated; required for emergency entries)",
                                      max_length=500)
                valid_from = gr.Textbox(label="Valid from (YYYY-MM-DD)", max_length=10)
                valid_until = gr.Textbox(label="Valid until (YYYY-MM-DD)", max_length=10)
                tags = gr.Textbox(label="Tags", max_length=200)
            save_btn = gr.Button("Save entry", variant="primary", elem_id="save-entry-btn")
        with gr.Tab("Passages"):
            with gr.Row():
                query = gr.Textbox(label="Search passages (words in source, title, text, keywords)", scale=4,
                                   max_length=200)
                kind = gr.Dropdown(["all", "doc", "faq", "past_reply", "emergency", "greeting"], value="all",
                                   label="Kind", scale=1)
            passages = gr.Dataframe(headers=kn.PASSAGE_HEADERS, interactive=False, wrap=True, max_height=420,
                                    column_widths=PASSAGE_WIDTHS)
        with gr.Tab("Needs attention"):
            gr.Markdown("Expired entries are never cited; flagged passages hold planted instructions, duplicates "
                        "or answers that conflict with another entry for the same question.")
            expired = gr.Dataframe(headers=kn.PASSAGE_HEADERS, label="Expired entries", interactive=False,
                                   wrap=True, max_height=260, column_widths=PASSAGE_WIDTHS)
            flagged = gr.Dataframe(headers=kn.PASSAGE_HEADERS, label="Flagged passages", interactive=False,
                                   wrap=True, max_height=260, column_widths=PASSAGE_WIDTHS)

    table_outputs = [info, sources, remove_pick, folder, expired, flagged]
    reindex_btn.click(reindex, None, [kstatus, *table_outputs], concurrency_id="index", concurrency_limit=1,
                      api_visibility="private", show_progress="full", show_progress_on=[kstatus])
    cancel_btn.click(cancel, None, kstatus, api_visibility="private", queue=False)
    refresh_btn.click(tables, None, table_outputs, **LIGHT)
    upload_btn.click(upload, [files, folder], [kstatus, files, *table_outputs], **LIGHT)
    remove_btn.click(remove, [remove_pick], [kstatus, *table_outputs],
                     js="(f) => (f && confirm('Remove ' + f + ' from the knowledge folder?')) ? f : null", **LIGHT)
    table.change(entry_list, [table], [row], **LIGHT)
    row.change(load_entry, [table, row], [question, answer, keywords, valid_from, valid_until, tags], **LIGHT)
    save_btn.click(save_entry, [table, row, question, answer, keywords, valid_from, valid_until, tags],
                   [kstatus, row], **LIGHT)
    query.submit(browse, [query, kind], passages, **LIGHT)
    kind.change(browse, [query, kind], passages, **LIGHT)
    return [(tables, None, table_outputs), (entry_list, [table], [row]), (browse, [query, kind], passages)]


# ----------------------------------------------------------------------------------------------- evaluation
def _eval_view(service: CopilotService, concurrency: int) -> list[tuple[Any, Any, Any]]:
    def run(set_path: str | None, draft: bool, earlier: str | None, progress=gr.Progress()):
        if not set_path:
            raise gr.Error(f"No eval set chosen; add .jsonl sets to {service.eval_sets_dir}.", print_exception=False)
        try:
            result, path = ev.run_set(service, set_path, draft=bool(draft),
                                      progress=lambda d, n: progress((d, n), desc="cases"))
            return (*_show(result, earlier), f"saved as `{path}`", gr.update(choices=ev.list_runs(
                service.eval_runs_dir)), result)
        except UserError as e:
            raise _err(e) from None

    def _show(result: dict, earlier: str | None):
        other = ev.load_run(earlier) if earlier else None
        cases = result.get("cases") or []
        other_cases = (other or {}).get("cases")
        return (ev.metric_rows(result["summary"], (other or {}).get("summary")),
                ev.recall_figure(cases, other_cases), ev.latency_figure(cases, other_cases), ev.case_rows(cases))

    def compare(current: dict | None, earlier: str | None):
        if not current:
            if not earlier:
                raise gr.Error("Run an eval set or pick a saved run first.", print_exception=False)
            try:
                current = ev.load_run(earlier)
            except UserError as e:
                raise _err(e) from None
            return (*_show(current, None), f"showing saved run `{earlier}`", current)
        try:
            return (*_show(current, earlier), f"compared with `{earlier}`" if earlier else "", current)
        except UserError as e:
            raise _err(e) from None

    sets = ev.set_choices(service.eval_sets_dir)
    with gr.Row(equal_height=True):
        set_pick = gr.Dropdown(sets, value=sets[0][1] if sets else None, label="Eval set", scale=3,
                               elem_id="eval-set")
        draft = gr.Checkbox(False, label="With drafts (runs the model: slow)", scale=1, min_width=120)
        earlier = gr.Dropdown(ev.list_runs(service.eval_runs_dir), value=None, label="Compare with saved run",
                              scale=3, elem_id="eval-earlier")
    with gr.Row():
        run_btn = gr.Button("▶ Run evaluation", variant="primary", elem_id="eval-run-btn", scale=2)
        compare_btn = gr.Button("⇄ Compare / show saved run", scale=1)
    saved = gr.Markdown()
    with gr.Row():
        metrics = gr.Dataframe(headers=["metric", "this run", "earlier run", "change"], interactive=False,
                               max_height=560, scale=2, elem_id="eval-metrics",
                               column_widths=["46%", "18%", "18%", "18%"])
        with gr.Column(scale=3):
            recall_plot = gr.Plot(label="recall@k")
            latency_plot = gr.Plot(label="latency")
    cases = gr.Dataframe(headers=ev.CASE_HEADERS, label="Cases", interactive=False, wrap=True, max_height=360)
    current = gr.State(None)
    run_btn.click(run, [set_pick, draft, earlier], [metrics, recall_plot, latency_plot, cases, saved, earlier,
                                                    current], concurrency_id="model", concurrency_limit=concurrency,
                  api_visibility="private")
    compare_btn.click(compare, [current, earlier], [metrics, recall_plot, latency_plot, cases, saved, current],
                      **LIGHT)

    def refresh_runs():
        return gr.update(choices=ev.list_runs(service.eval_runs_dir)), gr.update(choices=ev.set_choices(
            service.eval_sets_dir))

    return [(refresh_runs, None, [earlier, set_pick])]


# ------------------------------------------------------------------------------------------------- feedback
def _feedback_view(service: CopilotService) -> list[tuple[Any, Any, Any]]:
    def rows():
        st = service.feedback.stats()
        md = (f"**{st['total']}** decisions · **{st['accepted']}** accepted · **{st['rejected']}** rejected · "
              f"mean edit distance of accepted replies: **{st['mean_edit_distance'] if st['mean_edit_distance'] is not None else '–'}** "
              "characters. Personal data is masked before anything is stored.")
        data = [[r["id"], _time(r["created_at"]), r["status"], _short(r["reason"], 40), r["language"],
                 _short(r["message"], 60), _short(r["final_text"], 80),
                 "" if r["edit_distance"] is None else r["edit_distance"], _time(r["promoted_at"] or "")]
                for r in service.feedback.recent(200)]
        latest = next((r["id"] for r in service.feedback.recent(50) if r["status"] == "accepted"
                       and not r["promoted_at"]), None)
        return md, data, gr.update(value=latest) if latest else gr.update()

    def export(kind: str):
        return gr.update(value=str(service.export(kind)), visible=True)

    def load(record_id: float | None):
        if not record_id:
            raise gr.Error("Enter the number (#) of an accepted record.", print_exception=False)
        try:
            r = service.feedback.get(int(record_id))
        except UserError as e:
            raise _err(e) from None
        if r["status"] != "accepted":
            raise gr.Error(f"Record #{int(record_id)} was rejected; only accepted replies can be promoted.",
                           print_exception=False)
        return r["message"], r["final_text"]

    def promote_reviewed(record_id, question, answer, keywords, valid_from, valid_until):
        if not record_id:
            raise gr.Error("Enter the number (#) of an accepted record.", print_exception=False)
        try:
            row = service.promote(int(record_id), question, answer, keywords, valid_from, valid_until)
        except UserError as e:
            raise _err(e) from None
        return (f"✓ added to `faq/promoted_replies.csv` as a past reply: “{_short(row['question'], 60)}”. "
                "The index updates in the background; agents keep the current one until it is ready.", *rows())

    stats = gr.Markdown()
    with gr.Row():
        refresh = gr.Button("↻ Refresh", scale=1)
        csv_btn = gr.Button("↓ Export CSV", scale=1, elem_id="export-csv")
        jsonl_btn = gr.Button("↓ Export JSONL", scale=1, elem_id="export-jsonl")
    download = gr.File(label="Export", interactive=False, visible=False, elem_id="export-file")
    table = gr.Dataframe(headers=FEEDBACK_HEADERS, interactive=False, wrap=True, max_height=380,
                         elem_id="feedback-table",
                         column_widths=["5%", "14%", "8%", "12%", "5%", "20%", "24%", "6%", "6%"])
    gr.Markdown("### Promote an accepted reply to a past good reply\nLoad a record, review the (masked) texts, "
                "then promote: a row is added to `faq/promoted_replies.csv` in the knowledge folder and the index "
                "is updated incrementally in the background.")
    with gr.Row():
        rid = gr.Number(None, label="Record #", precision=0, minimum=1, scale=1, elem_id="promote-id")
        load_btn = gr.Button("Load record", scale=1)
    with gr.Row():
        question = gr.Textbox(label="Customer question (masked)", lines=3, max_length=2000, elem_id="promote-q")
        answer = gr.Textbox(label="Reply (reviewed, masked)", lines=3, max_length=MAX_REPLY_CHARS,
                            elem_id="promote-a")
    with gr.Row():
        keywords = gr.Textbox(label="Keywords (';'-separated, optional)", max_length=500)
        valid_from = gr.Textbox(label="Valid from (optional)", max_length=10)
        valid_until = gr.Textbox(label="Valid until (optional)", max_length=10)
    promote_btn = gr.Button("★ Promote to past reply", variant="primary", elem_id="promote-btn")
    pstatus = gr.Markdown()

    refresh.click(rows, None, [stats, table, rid], **LIGHT)
    csv_btn.click(lambda: export("csv"), None, download, **LIGHT)
    jsonl_btn.click(lambda: export("jsonl"), None, download, **LIGHT)
    load_btn.click(load, [rid], [question, answer], **LIGHT)
    promote_btn.click(promote_reviewed, [rid, question, answer, keywords, valid_from, valid_until],
                      [pstatus, stats, table, rid], **LIGHT)
    return [(rows, None, [stats, table, rid])]


# ------------------------------------------------------------------------------------------------------ app
def create_app(service: CopilotService | None = None, *, knowledge_dir: str | Path = DEFAULT_KNOWLEDGE,
               index_dir: str | Path = DEFAULT_INDEX, settings: Settings | None = None,
               feedback_db: str | Path = DEFAULT_FEEDBACK, generator: Any = None, embedder: Any = None,
               today: date | None = None, eval_sets_dir: str | Path = DEFAULT_EVAL_SETS,
               eval_runs_dir: str | Path = DEFAULT_EVAL_RUNS, concurrency: int = 2, queue_size: int = 16,
               build_progress: Callable[[int, int, str], None] | None = None) -> gr.Blocks:
    """The Gradio Blocks of the app (not launched). Builds the index first when there is none.

    `service` may be given ready-made; otherwise one is made from the paths. The Blocks carry it as
    `.service` (tests use it to wait for background re-indexing)."""
    if service is None:
        settings = settings or load_settings(knowledge_dir)
        service = CopilotService(knowledge_dir=knowledge_dir, index_dir=index_dir, settings=settings,
                                 feedback_db=feedback_db, generator=generator, embedder=embedder, today=today,
                                 eval_sets_dir=eval_sets_dir, eval_runs_dir=eval_runs_dir)
    service.ensure_index(build_progress)
    copilot = service.copilot
    shop = copilot.shop

    def api_suggest(message: str, history: str = "") -> dict:
        """Suggest a reply. `message`: the customer's message; `history`: earlier turns, one a line
        ("customer: …" / "agent: …") or a JSON list of {"role", "content"}. Returns the Suggestion object
        (language, hits, drafts with citations and checks, escalate, escalation_reasons, timings_ms, errors)."""
        try:
            return service.suggest(message, history)
        except UserError as e:
            raise _err(e) from None

    def api_feedback(message: str, final_text: str = "", status: str = "accepted", reason: str = "",
                     draft_text: str = "", suggestion: dict | None = None, history: str = "") -> dict:
        """Record what an agent did with a suggestion (for helpdesks that show the drafts themselves).
        `status` is "accepted" (with the `final_text` sent) or "rejected" (with a `reason`); `suggestion` is the
        object /suggest returned. Personal data is masked before storing. Returns {"id", "edit_distance"}."""
        try:
            return service.record_external(message=message, final_text=final_text, status=status, reason=reason,
                                           draft_text=draft_text, suggestion=suggestion, history=history)
        except UserError as e:
            raise _err(e) from None

    def api_promote(record_id: int, question: str = "", answer: str = "", keywords: str = "") -> dict:
        """Promote accepted feedback record `record_id` to a past good reply (faq/promoted_replies.csv);
        `question`/`answer` default to the recorded (masked) message and final text. The index updates in the
        background. Returns the added row."""
        try:
            r = service.feedback.get(int(record_id))
            return service.promote(int(record_id), question or r["message"], answer or r["final_text"], keywords)
        except UserError as e:
            raise _err(e) from None

    with gr.Blocks(title=f"{shop.name} · Reply copilot", analytics_enabled=False) as demo:
        gr.HTML(f'<div id="app-header"><h1>{t("en", "title")} · {t("zh", "title")}</h1>'
                f'<span class="sub">{_esc(shop.name)} / {_esc(shop.name_zh)} · local, offline</span></div>')
        with gr.Tabs(elem_id="views"):
            with gr.Tab("Agent desk · 客服工作台", id="agent", elem_id="tab-agent"):
                _agent_view(service, concurrency)
            with gr.Tab("Knowledge · 知识库", id="knowledge", elem_id="tab-knowledge") as k_tab:
                k_loaders = _knowledge_view(service)
            with gr.Tab("Evaluation · 评测", id="eval", elem_id="tab-eval") as e_tab:
                e_loaders = _eval_view(service, concurrency)
            with gr.Tab("Feedback · 反馈", id="feedback", elem_id="tab-feedback") as f_tab:
                f_loaders = _feedback_view(service)
        gr.api(api_suggest, api_name="suggest", concurrency_id="model", concurrency_limit=concurrency)
        gr.api(api_feedback, api_name="feedback", concurrency_id="light", concurrency_limit=4)
        gr.api(api_promote, api_name="promote", concurrency_id="light", concurrency_limit=4)
        for tab, loaders in ((k_tab, k_loaders), (e_tab, e_loaders), (f_tab, f_loaders)):
            for fn, inputs, outputs in loaders:  # fill the tables when the page opens and when a view is shown
                demo.load(fn, inputs, outputs, **LIGHT)
                tab.select(fn, inputs, outputs, **LIGHT)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    demo.service = service  # type: ignore[attr-defined]
    return demo


def _esc(text: Any) -> str:
    from app_parts.render import esc

    return esc(text)


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Serve the app. Only Gradio's own upload/cache folders are served (no extra allowed_paths); the
    knowledge, index and feedback locations are blocked outright."""
    service: CopilotService = demo.service  # type: ignore[attr-defined]
    blocked = [str(Path(p).resolve()) for p in (service.knowledge_dir, service.index_dir, service.feedback.path)]
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=prevent_thread_lock,
                       quiet=quiet, share=False, inbrowser=False, show_error=False, max_file_size=MAX_UPLOAD,
                       allowed_paths=[], blocked_paths=blocked, ssr_mode=False, footer_links=["api"],
                       theme=theme(), css=CSS, head=HEAD, mcp_server=False)


# ------------------------------------------------------------------------------------------------------ CLI
class TerminalProgress:
    """A tqdm bar per build stage on stderr (for the first start)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.what = ""

    def __call__(self, done: int, total: int, what: str) -> None:
        from tqdm import tqdm

        if what != self.what or self.bar is None:
            self.close()
            self.what = what
            self.bar = tqdm(total=max(total, 1), desc=what, file=sys.stderr, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}]")
        self.bar.n = min(done, self.bar.total)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    ap = argparse.ArgumentParser(
        prog="python app.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The agent's desk: reply suggestions, knowledge maintenance and evaluation in the browser.",
        epilog="examples:\n  python app.py                                  # the bundled demo shop on "
               "http://127.0.0.1:7860\n  python app.py --knowledge my-shop --index var/my-index\n"
               "  python app.py --host 0.0.0.0 --auth agent:secret  # reachable from the shop's network\n\n"
               "API: gradio_client.Client(URL).predict(message, history, api_name=\"/suggest\") returns the "
               "Suggestion object.")
    ap.add_argument("--knowledge", default=env("COPILOT_KNOWLEDGE", str(DEFAULT_KNOWLEDGE)), metavar="DIR",
                    help="knowledge folder (env COPILOT_KNOWLEDGE; default: the bundled demo shop)")
    ap.add_argument("--index", default=env("COPILOT_INDEX", str(DEFAULT_INDEX)), metavar="DIR",
                    help="index folder, built on first start (env COPILOT_INDEX; default var/demo-index)")
    ap.add_argument("--host", default=env("COPILOT_HOST", "127.0.0.1"),
                    help="address to listen on (env COPILOT_HOST; default 127.0.0.1, this machine only)")
    ap.add_argument("--port", type=int, default=int(env("COPILOT_PORT", "7860")),
                    help="port (env COPILOT_PORT; default 7860)")
    ap.add_argument("--auth", default=env("COPILOT_AUTH"), metavar="USER:PASS",
                    help="require this login (env COPILOT_AUTH); strongly advised off loopback")
    ap.add_argument("--feedback-db", default=env("COPILOT_FEEDBACK_DB", str(DEFAULT_FEEDBACK)), metavar="PATH",
                    help="SQLite file of the feedback record (env COPILOT_FEEDBACK_DB)")
    ap.add_argument("--backend", default=None,
                    help="generator backend: llama.cpp (default), transformers, openai, fake (env COPILOT_BACKEND)")
    ap.add_argument("--today", default=env("COPILOT_TODAY"), metavar="YYYY-MM-DD",
                    help="judge validity windows on this day (demos and tests; default: the real date)")
    ap.add_argument("--concurrency", type=int, default=int(env("COPILOT_CONCURRENCY", "2")),
                    help="suggestions worked on at once (default 2: the machines have 2 cores)")
    ap.add_argument("--queue-size", type=int, default=int(env("COPILOT_QUEUE_SIZE", "16")),
                    help="requests waiting beyond that before new ones are refused (default 16)")
    return ap


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """"user:pass" → ("user", "pass"); None/"" → None; anything else is a UserError."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise UserError("--auth must be USER:PASS with both parts non-empty, e.g. --auth agent:s3cret")
    return user, password


def is_loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    from suggest.cli import parse_today, run_main

    def _main(args_list: list[str] | None) -> int:
        args = _parser().parse_args(args_list)
        auth = parse_auth(args.auth)
        today = parse_today(args.today) if args.today else None
        if not 1 <= args.port <= 65535:
            raise UserError(f"--port {args.port} is not a port number (1-65535)")
        if args.concurrency < 1 or args.queue_size < 1:
            raise UserError("--concurrency and --queue-size must be at least 1")
        if not is_loopback(args.host) and auth is None:
            print(f"WARNING: serving on {args.host} without --auth: anyone who can reach this machine can read "
                  "the knowledge base and the feedback record. Add --auth USER:PASS.", file=sys.stderr)
        knowledge = Path(args.knowledge)
        settings = load_settings(knowledge, backend=args.backend)
        service = CopilotService(knowledge_dir=knowledge, index_dir=Path(args.index), settings=settings,
                                 feedback_db=Path(args.feedback_db), today=today,
                                 eval_sets_dir=DEFAULT_EVAL_SETS, eval_runs_dir=DEFAULT_EVAL_RUNS)
        if not service.has_index():
            print(f"No index at {args.index} yet: building it from {knowledge} (first start)…", file=sys.stderr)
            bar = TerminalProgress()
            try:
                summary = service.ensure_index(bar)
            finally:
                bar.close()
            print(f"Index ready: {summary['passages']} passages from {summary['files']} files in "
                  f"{summary['seconds']:.1f} s.", file=sys.stderr)
        demo = create_app(service, concurrency=args.concurrency, queue_size=args.queue_size)
        launch(demo, host=args.host, port=args.port, auth=auth)
        return 0

    return run_main(_main, list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
