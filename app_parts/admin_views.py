"""The maintainers' and evaluators' views: knowledge (sources, uploads, FAQ/emergency entries, re-index,
passages, expired and flagged entries), evaluation (run, metrics, charts, compare) and the feedback record
(export, promote). Each builder returns the (fn, inputs, outputs) that fill its tables when the view opens."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from app_parts import evaluation as ev
from app_parts import knowledge as kn
from app_parts.service import CopilotService
from app_parts.texts import t
from app_parts.ui import LIGHT, MAX_REPLY_CHARS, Labels, err, short, time_str
from core.errors import UserError

TOP_LEVEL = "(top level)"
NEW_ENTRY = -1
FEEDBACK_HEADERS = ["#", "time", "status", "reason", "lang", "message", "final reply", "edits", "promoted"]
SOURCE_HEADERS = ["source", "kinds", "passages", "status", "last indexed (UTC)"]
PASSAGE_WIDTHS = ["12%", "15%", "8%", "18%", "31%", "9%", "7%"]
Loaders = list[tuple[Any, Any, Any]]


# ------------------------------------------------------------------------------------------------ knowledge
def _folders(root: Path) -> list[str]:
    if not root.is_dir():
        return [TOP_LEVEL]
    subs = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts)
                  and p.relative_to(root).parts[0] != "rules")
    return [TOP_LEVEL, *subs]


def _tables(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, "table_faq"), "faq"), (t(lang, "table_emergency"), "emergency")]


def _upload_label(lang: str) -> str:
    return t(lang, "upload_files", types=", ".join(kn.ALLOWED_UPLOAD))


def knowledge_view(service: CopilotService, labels: Labels) -> Loaders:
    root = service.knowledge_dir

    def info_md() -> str:
        i = service.index_info()
        b = service.build
        line = (f"**{i['passages']} passages** from **{i['files']} files** · indexed {time_str(i['built_at'])} UTC · "
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
            raise err(e) from None
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
            raise err(e) from None
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
            raise err(e) from None
        entries = kn.read_entries(root, table)
        return (f"✓ saved row {index + 1} of `{kn.ENTRY_TABLES[table]}`. Press **Re-index** to make it live.",
                gr.update(choices=[("+ new entry", NEW_ENTRY), *kn.entry_choices(entries)], value=index))

    def browse(query: str, kind: str):
        return kn.passage_rows(service.copilot.retriever.passages, query, "" if kind == "all" else kind)

    L = labels.make
    with gr.Row():
        info = gr.Markdown(elem_id="index-info")
    with gr.Row():
        reindex_btn = L(gr.Button, {"value": "reindex"}, variant="primary", elem_id="reindex-btn", scale=2)
        cancel_btn = L(gr.Button, {"value": "cancel_reindex"}, elem_id="cancel-reindex-btn", scale=1)
        refresh_btn = L(gr.Button, {"value": "refresh"}, elem_id="refresh-knowledge-btn", scale=1)
    kstatus = gr.Markdown(elem_id="knowledge-status")
    with gr.Tabs():
        with L(gr.Tab, {"label": "tab_files"}):
            sources = gr.Dataframe(headers=SOURCE_HEADERS, interactive=False, wrap=True, max_height=360,
                                   elem_id="sources-table", column_widths=["34%", "16%", "10%", "22%", "18%"])
            with gr.Row():
                with gr.Column(scale=3):
                    files = L(gr.File, {"label": _upload_label}, file_count="multiple",
                              file_types=list(kn.ALLOWED_UPLOAD), type="filepath", height=120,
                              elem_id="upload-files")
                with gr.Column(scale=2):
                    folder = L(gr.Dropdown, {"label": "into_folder"}, choices=_folders(root), value=TOP_LEVEL,
                               allow_custom_value=True, elem_id="upload-folder")
                    upload_btn = L(gr.Button, {"value": "upload"}, elem_id="upload-btn")
                with gr.Column(scale=2):
                    remove_pick = L(gr.Dropdown, {"label": "remove_file"}, choices=[], elem_id="remove-pick")
                    remove_btn = L(gr.Button, {"value": "remove"}, variant="stop", elem_id="remove-btn")
        with L(gr.Tab, {"label": "tab_entries"}):
            with gr.Row():
                table = L(gr.Radio, {"label": "table", "choices": _tables}, value="faq", scale=2)
                row = L(gr.Dropdown, {"label": "entry"}, choices=[("+ new entry", NEW_ENTRY)], value=NEW_ENTRY,
                        scale=3)
            with gr.Row():
                question = L(gr.Textbox, {"label": "question"}, lines=2, max_length=1000)
                answer = L(gr.Textbox, {"label": "answer"}, lines=2, max_length=4000)
            with gr.Row():
                keywords = L(gr.Textbox, {"label": "entry_keywords"}, max_length=500)
                valid_from = L(gr.Textbox, {"label": "entry_valid_from"}, max_length=10)
                valid_until = L(gr.Textbox, {"label": "entry_valid_until"}, max_length=10)
                tags = L(gr.Textbox, {"label": "tags"}, max_length=200)
            save_btn = L(gr.Button, {"value": "save_entry"}, variant="primary", elem_id="save-entry-btn")
        with L(gr.Tab, {"label": "tab_passages"}):
            with gr.Row():
                query = L(gr.Textbox, {"label": "search_passages"}, scale=4, max_length=200)
                kind = L(gr.Dropdown, {"label": "kind"}, choices=["all", "doc", "faq", "past_reply", "emergency",
                                                                  "greeting"], value="all", scale=1)
            passages = gr.Dataframe(headers=kn.PASSAGE_HEADERS, interactive=False, wrap=True, max_height=420,
                                    column_widths=PASSAGE_WIDTHS)
        with L(gr.Tab, {"label": "tab_attention"}):
            L(gr.Markdown, {"value": "attention_note"})
            expired = L(gr.Dataframe, {"label": "expired"}, headers=kn.PASSAGE_HEADERS, interactive=False,
                        wrap=True, max_height=260, column_widths=PASSAGE_WIDTHS)
            flagged = L(gr.Dataframe, {"label": "flagged"}, headers=kn.PASSAGE_HEADERS, interactive=False,
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
def eval_view(service: CopilotService, concurrency: int, labels: Labels) -> Loaders:
    def run(set_path: str | None, draft: bool, earlier: str | None, progress=gr.Progress()):
        if not set_path:
            raise gr.Error(f"No eval set chosen; add .jsonl sets to {service.eval_sets_dir}.", print_exception=False)
        try:
            result, path = ev.run_set(service, set_path, draft=bool(draft),
                                      progress=lambda d, n: progress((d, n), desc="cases"))
            return (*_show(result, earlier), f"saved as `{path}`", gr.update(choices=ev.list_runs(
                service.eval_runs_dir)), result)
        except UserError as e:
            raise err(e) from None

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
                raise err(e) from None
            return (*_show(current, None), f"showing saved run `{earlier}`", current)
        try:
            return (*_show(current, earlier), f"compared with `{earlier}`" if earlier else "", current)
        except UserError as e:
            raise err(e) from None

    L = labels.make
    sets = ev.set_choices(service.eval_sets_dir)
    with gr.Row(equal_height=True):
        set_pick = L(gr.Dropdown, {"label": "eval_set"}, choices=sets, value=sets[0][1] if sets else None, scale=3,
                     elem_id="eval-set")
        draft = L(gr.Checkbox, {"label": "with_drafts"}, value=False, scale=1, min_width=120)
        earlier = L(gr.Dropdown, {"label": "compare_with"}, choices=ev.list_runs(service.eval_runs_dir), value=None,
                    scale=3, elem_id="eval-earlier")
    with gr.Row():
        run_btn = L(gr.Button, {"value": "run_eval"}, variant="primary", elem_id="eval-run-btn", scale=2)
        compare_btn = L(gr.Button, {"value": "compare"}, scale=1)
    saved = gr.Markdown()
    with gr.Row():
        metrics = gr.Dataframe(headers=["metric", "this run", "earlier run", "change"], interactive=False,
                               max_height=560, scale=2, elem_id="eval-metrics",
                               column_widths=["46%", "18%", "18%", "18%"])
        with gr.Column(scale=3):
            recall_plot = gr.Plot(label="recall@k")
            latency_plot = L(gr.Plot, {"label": "latency"})
    cases = L(gr.Dataframe, {"label": "cases"}, headers=ev.CASE_HEADERS, interactive=False, wrap=True,
              max_height=360)
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
def feedback_view(service: CopilotService, labels: Labels) -> Loaders:
    def rows():
        st = service.feedback.stats()
        md = (f"**{st['total']}** decisions · **{st['accepted']}** accepted · **{st['rejected']}** rejected · "
              f"mean edit distance of accepted replies: **{st['mean_edit_distance'] if st['mean_edit_distance'] is not None else '–'}** "
              "characters. Personal data is masked before anything is stored.")
        data = [[r["id"], time_str(r["created_at"]), r["status"], short(r["reason"], 40), r["language"],
                 short(r["message"], 60), short(r["final_text"], 80),
                 "" if r["edit_distance"] is None else r["edit_distance"], time_str(r["promoted_at"] or "")]
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
            raise err(e) from None
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
            raise err(e) from None
        return (f"✓ added to `faq/promoted_replies.csv` as a past reply: “{short(row['question'], 60)}”. "
                "The index updates in the background; agents keep the current one until it is ready.", *rows())

    L = labels.make
    stats = gr.Markdown()
    with gr.Row():
        refresh = L(gr.Button, {"value": "refresh"}, scale=1)
        csv_btn = L(gr.Button, {"value": "export_csv"}, scale=1, elem_id="export-csv")
        jsonl_btn = L(gr.Button, {"value": "export_jsonl"}, scale=1, elem_id="export-jsonl")
    download = L(gr.File, {"label": "export"}, interactive=False, visible=False, elem_id="export-file")
    table = gr.Dataframe(headers=FEEDBACK_HEADERS, interactive=False, wrap=True, max_height=380,
                         elem_id="feedback-table",
                         column_widths=["5%", "14%", "8%", "12%", "5%", "20%", "24%", "6%", "6%"])
    L(gr.Markdown, {"value": "promote_intro"})
    with gr.Row():
        rid = L(gr.Number, {"label": "record_no"}, value=None, precision=0, minimum=1, scale=1, elem_id="promote-id")
        load_btn = L(gr.Button, {"value": "load_record"}, scale=1)
    with gr.Row():
        question = L(gr.Textbox, {"label": "promote_question"}, lines=3, max_length=2000, elem_id="promote-q")
        answer = L(gr.Textbox, {"label": "promote_answer"}, lines=3, max_length=MAX_REPLY_CHARS, elem_id="promote-a")
    with gr.Row():
        keywords = L(gr.Textbox, {"label": "promote_keywords"}, max_length=500)
        valid_from = L(gr.Textbox, {"label": "promote_valid_from"}, max_length=10)
        valid_until = L(gr.Textbox, {"label": "promote_valid_until"}, max_length=10)
    promote_btn = L(gr.Button, {"value": "promote"}, variant="primary", elem_id="promote-btn")
    pstatus = gr.Markdown()

    refresh.click(rows, None, [stats, table, rid], **LIGHT)
    csv_btn.click(lambda: export("csv"), None, download, **LIGHT)
    jsonl_btn.click(lambda: export("jsonl"), None, download, **LIGHT)
    load_btn.click(load, [rid], [question, answer], **LIGHT)
    promote_btn.click(promote_reviewed, [rid, question, answer, keywords, valid_from, valid_until],
                      [pstatus, stats, table, rid], **LIGHT)
    return [(rows, None, [stats, table, rid])]
