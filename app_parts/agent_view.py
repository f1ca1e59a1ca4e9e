"""The agent desk: message (+ earlier turns) → the draft built from the knowledge base at once (the editable reply
starts from it) and the model's rephrasing streaming beside it, sources with the evidence highlighted and
citations, warnings under their sentence, escalation and "not in the knowledge base" banners, similar past replies,
Accept (records feedback and copies the text), Regenerate, Reject with a reason; UI text follows the message
language or the switch."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from app_parts.render import (draft_label, draft_layout, drafts_html, escalation_html, not_in_kb_html,
                              sources_html, status_html)
from app_parts.service import DESK_CONCURRENCY, CopilotService
from app_parts.texts import DEFAULT_LANG, choices, t
from app_parts.ui import COPY_JS, LIGHT, MAX_REPLY_CHARS, Labels, err, short, time_str, ui_lang
from core.errors import UserError
from core.events import DoneEvent, DraftEvent, ErrorEvent, HitsEvent, RestartEvent, TokenEvent

MAX_NOTE_CHARS = 500
STREAM_EVERY_S = 0.08  # at most ~12 page updates a second while the model streams
RECENT_HEADERS = ["#", "time", "status", "message", "final reply", "edits"]


@dataclass
class AgentDesk:
    """What app.py needs of the built desk: the table loaders, and when and how the page's texts follow the UI
    language (`relabel_on`: the switch and the end of each suggestion; `language(*language_inputs)`)."""
    loaders: list[tuple[Any, Any, Any]]
    relabel_on: list[Callable[..., Any]]
    language_inputs: list[Any]
    language: Callable[[str, dict | None], str]


def agent_handlers(service: CopilotService) -> dict[str, Callable[..., Any]]:
    """The agent view's handlers (plain functions over the service, kept apart from the layout)."""

    def recent_rows() -> list[list[Any]]:
        return [[r["id"], time_str(r["created_at"])[11:], r["status"], short(r["message"], 40),
                 short(r["final_text"] or r["reason"], 60), "" if r["edit_distance"] is None else r["edit_distance"]]
                for r in service.feedback.recent(5)]

    def suggest(message: str, history: str, ui_choice: str, _state: dict | None):
        """Generator: yields (banner, status, drafts, sources, reply, draft picker, state) as events arrive."""
        lang = ui_lang(ui_choice, None)
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
            shown = draft_layout(drafts).shown  # the picker lists the drafts in the order of the cards
            cited = {c for x in drafts for c in x.get("citations", [])}
            ui = ui_lang(ui_choice, sug.language if sug is not None else None)
            state.update(lang=ui, origin=origin, draft_text=reply if not final else state.get("draft_text", reply),
                         drafts=[{"origin": x["origin"], "text": x["text"]} for x in shown])
            labels = [draft_label(x, ui) for x in shown]
            picked = next((i for i, x in enumerate(shown) if x["origin"] == origin), None)
            picker = gr.update(choices=[(lab, i) for i, lab in enumerate(labels)], value=picked,
                               visible=len(drafts) > 1)
            return (status_html(ui, d.get("timings_ms") if final else None,
                                "" if not final else ("; ".join(errors) if errors else ""),
                                "error" if errors else ""),
                    drafts_html(drafts, d["hits"], ui, stream_text=stream_text, retry=retry, errors=errors,
                                message_checks=d.get("message_checks", []), similar=d.get("similar_replies") or [],
                                banner=escalation_html(bool(d.get("escalate")), d.get("escalation_reasons", []), ui)
                                + not_in_kb_html(d.get("answerable"), d.get("confidence"), ui)),
                    sources_html(d["hits"], ui, text, cited, evidence=d.get("evidence") or []),
                    reply, picker, state)

        events = copilot.run(text, today=service.today(), history=turns or None)
        try:
            for event in events:
                match event:
                    case HitsEvent():
                        sug = event.suggestion
                        state["suggestion"] = sug.to_dict()
                        yield view()
                    case DraftEvent():
                        if event.draft.origin == "model":
                            stream_text = None
                        if origin in ("", "model"):  # the reply starts from the first ready draft
                            reply, origin = event.draft.text, event.draft.origin
                        yield view()
                    case TokenEvent():
                        stream_text = (stream_text or "") + event.text
                        if origin in ("", "model"):
                            reply, origin = stream_text, "model"
                        if time.perf_counter() - last >= STREAM_EVERY_S:
                            last = time.perf_counter()
                            yield view()
                    case RestartEvent():
                        retry = list(event.problems)
                        stream_text = ""
                        if origin == "model":
                            reply = ""
                    case ErrorEvent():
                        errors.append(event.message)
                        stream_text = None
                    case DoneEvent():
                        sug = event.suggestion
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
            first = draft_layout(sug.to_dict()["drafts"]).first
            reply, origin = (first[0]["text"], first[0]["origin"]) if first else ("", "")
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
        lang = (state or {}).get("lang", DEFAULT_LANG)
        reply = (reply or "").strip()
        if not reply:
            raise gr.Error(t(lang, "empty_reply"), print_exception=False)
        if len(reply) > MAX_REPLY_CHARS:
            raise gr.Error(t(lang, "reply_too_long", n=MAX_REPLY_CHARS), print_exception=False)
        try:
            checks = service.copilot.check(state["message"], reply, today=service.today(),
                                           history=state.get("history")).checks if state else []
            rid = service.record(status="accepted", state=state or {}, final_text=reply,
                                 checks=[c.to_dict() for c in checks])
        except UserError as e:
            raise err(e) from None
        dist = service.feedback.get(rid)["edit_distance"]
        warn = [c.message for c in checks if c.severity in ("error", "warning")]
        note = t(lang, "accepted", id=rid, dist=dist if dist is not None else "–")
        if warn:
            note += " ⚠ " + "; ".join(warn[:3])
        return status_html(lang, (state or {}).get("suggestion", {}).get("timings_ms"), note,
                           "error" if warn else "ok"), recent_rows()

    def reject(reason: str, note: str, state: dict | None):
        lang = (state or {}).get("lang", DEFAULT_LANG)
        text = " — ".join(x for x in ((reason or "").strip(), (note or "").strip()[:MAX_NOTE_CHARS]) if x)
        try:
            rid = service.record(status="rejected", state=state or {}, reason=text or "unspecified")
        except UserError as e:
            raise err(e) from None
        return status_html(lang, None, t(lang, "rejected", id=rid), "ok"), recent_rows()

    def clear():
        return ("", "", "", drafts_html([], [], DEFAULT_LANG), sources_html([], DEFAULT_LANG), "",
                gr.update(choices=[], value=None, visible=False), None)

    def language(ui_choice: str, state: dict | None) -> str:
        return ui_lang(ui_choice, (state or {}).get("lang"))

    def empty_panels(ui_choice: str, state: dict | None):
        """Before any suggestion the empty panels' hints follow the switch too (a shown one keeps its language
        until the next Suggest)."""
        if state is not None:
            return gr.update(), gr.update()
        lang = language(ui_choice, state)
        return drafts_html([], [], lang), sources_html([], lang)

    return {"suggest": suggest, "pick": pick, "accept": accept, "reject": reject, "clear": clear,
            "language": language, "empty_panels": empty_panels, "recent_rows": recent_rows}


def _languages(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, "auto"), "auto"), ("中文", "zh"), ("English", "en")]  # each language named in itself


def _reasons(lang: str) -> list[str]:
    return choices(lang, "reject_reasons")


def agent_view(service: CopilotService, concurrency: int, labels: Labels) -> AgentDesk:
    h = agent_handlers(service)
    s = service.settings
    L = labels.make
    with gr.Row(equal_height=False):
        with gr.Column(scale=6, min_width=420):
            message = L(gr.Textbox, {"label": "message", "placeholder": "message_ph"}, lines=4, max_lines=10,
                        max_length=s.max_message_chars, elem_id="message-box", autofocus=True)
            with L(gr.Accordion, {"label": "history"}, open=False):
                history = L(gr.Textbox, {"placeholder": "history_ph"}, show_label=False, lines=4, max_lines=12,
                            max_length=4 * s.max_message_chars, elem_id="history-box")
            with gr.Row():
                suggest_btn = L(gr.Button, {"value": "suggest"}, variant="primary", elem_id="suggest-btn", scale=3)
                regen_btn = L(gr.Button, {"value": "regenerate"}, elem_id="regenerate-btn", scale=2)
                clear_btn = L(gr.Button, {"value": "clear"}, elem_id="clear-btn", scale=1, variant="secondary")
            drafts = gr.HTML(drafts_html([], [], DEFAULT_LANG), elem_id="drafts-panel")
            pick = L(gr.Radio, {"label": "use_draft"}, choices=[], type="value", visible=False, elem_id="draft-pick")
            reply = L(gr.Textbox, {"label": "reply"}, lines=6, max_lines=16, max_length=MAX_REPLY_CHARS,
                      elem_id="reply-box", interactive=True)
            with gr.Row():
                accept_btn = L(gr.Button, {"value": "accept"}, variant="primary", elem_id="accept-btn", scale=2)
                reject_btn = L(gr.Button, {"value": "reject"}, variant="stop", elem_id="reject-btn", scale=1)
            status = gr.HTML("", elem_id="agent-status")
            with gr.Row():
                reason = L(gr.Dropdown, {"label": "reject_reason", "choices": _reasons,
                                         "value": lambda lang: _reasons(lang)[0]}, scale=2, elem_id="reject-reason")
                note = L(gr.Textbox, {"label": "reject_note"}, max_length=MAX_NOTE_CHARS, scale=3,
                         elem_id="reject-note")
        with gr.Column(scale=5, min_width=360):
            with gr.Row():
                ui_choice = L(gr.Radio, {"label": "ui_lang", "choices": _languages}, value="auto", elem_id="ui-lang",
                              scale=1)
            sources = gr.HTML(sources_html([], DEFAULT_LANG), elem_id="sources-panel")
            recent = L(gr.Dataframe, {"label": "recent"}, headers=RECENT_HEADERS, value=h["recent_rows"](),
                       interactive=False, wrap=True, elem_id="recent-feedback", max_height=260,
                       column_widths=["7%", "13%", "13%", "27%", "28%", "12%"])
    state = gr.State(None)

    outputs = [status, drafts, sources, reply, pick, state]
    model_kw = {"concurrency_id": "desk", "concurrency_limit": max(concurrency, DESK_CONCURRENCY),
                "api_visibility": "private",
                "show_progress": "minimal", "show_progress_on": [drafts]}
    suggested = [trigger(h["suggest"], [message, history, ui_choice, state], outputs, api_name=name, **model_kw)
                 for trigger, name in ((suggest_btn.click, "agent_suggest"), (regen_btn.click, "agent_regenerate"))]
    pick.input(h["pick"], [pick, state], [reply, state], **LIGHT)
    accept_btn.click(None, [reply], None, js=COPY_JS, api_visibility="private", queue=False)
    accept_btn.click(h["accept"], [reply, state], [status, recent], **LIGHT)
    reject_btn.click(h["reject"], [reason, note, state], [status, recent], **LIGHT)
    clear_btn.click(h["clear"], None, [message, history, status, drafts, sources, reply, pick, state],
                    api_visibility="private", queue=False)
    ui_choice.change(h["empty_panels"], [ui_choice, state], [drafts, sources], api_visibility="private", queue=False)
    return AgentDesk(loaders=[(h["recent_rows"], None, recent)],
                     relabel_on=[ui_choice.change, *(event.then for event in suggested)],
                     language_inputs=[ui_choice, state], language=h["language"])
