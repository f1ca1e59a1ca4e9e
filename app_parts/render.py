"""What the agent sees, as HTML: the sources panel, the draft cards with their warnings next to the sentence
they concern, the escalation banner and the status line; plus the UI texts in Chinese and English and the
parsing of the "earlier turns" box. Every text that comes from a message, a draft or the knowledge base is
escaped here (`html.escape`) before any markup is added.

>>> parse_history("客户: 在吗\\n客服：在的\\nI ordered a kettle")
[{'role': 'customer', 'content': '在吗'}, {'role': 'agent', 'content': '在的\\nI ordered a kettle'}]
"""
from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable, Mapping, Sequence

from core.errors import UserError
from suggest.prompting import CITATION

HISTORY_TURNS_KEPT = 20  # earlier turns kept from the history box (the prompt uses fewer)
PREVIEW_CHARS = 420

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Reply copilot", "tab_agent": "Agent desk", "tab_knowledge": "Knowledge",
        "tab_eval": "Evaluation", "tab_feedback": "Feedback",
        "message": "Customer message", "message_ph": "Paste the customer's message (Ctrl+Enter to suggest)",
        "history": "Earlier turns (optional)",
        "history_ph": "One turn per line, e.g.\ncustomer: Hi, is the kettle in stock?\nagent: Yes, it is.",
        "suggest": "Suggest reply", "regenerate": "Regenerate", "clear": "Clear",
        "reply": "Reply to send (edit freely)", "accept": "Accept & copy", "reject": "Reject",
        "reject_reason": "Reason for rejecting", "reject_note": "Note (optional)", "use_draft": "Start from",
        "sources": "Sources", "drafts": "Drafts", "no_sources": "No passage matched this message.",
        "waiting": "Type a customer message and press Suggest (Ctrl+Enter).",
        "saved_reply": "Saved reply", "model": "Model draft", "holding": "Holding reply (escalated)",
        "streaming": "writing…", "cited": "cited", "pinned": "pinned", "always": "no end date",
        "valid": "valid", "source_file": "file", "score": "score", "escalate": "Hand this case to a human colleague",
        "check_error": "Must fix", "check_warning": "Check", "check_info": "Note",
        "lang": "Language", "timings": "Timings", "errors": "The model could not draft a reply",
        "errors_hint": "Sources and the saved reply above still apply; write the reply yourself or try again.",
        "accepted": "Accepted and recorded as feedback #{id} (edit distance {dist}). The reply is on your clipboard.",
        "rejected": "Rejected and recorded as feedback #{id}.", "recent": "Recent feedback",
        "ui_lang": "UI language", "sources_for": "Source passages", "kind_doc": "Doc", "kind_faq": "FAQ",
        "kind_past_reply": "Past reply", "kind_emergency": "Emergency", "kind_greeting": "Greeting",
        "retry": "The model rewrote its draft once because of: ",
        "message_checks": "About the message",
    },
    "zh": {
        "title": "客服回复助手", "tab_agent": "客服工作台", "tab_knowledge": "知识库", "tab_eval": "评测",
        "tab_feedback": "反馈记录",
        "message": "客户消息", "message_ph": "粘贴客户的消息（Ctrl+Enter 生成建议）",
        "history": "之前的对话（可选）", "history_ph": "每行一轮，例如：\n客户：电水壶有货吗？\n客服：有的。",
        "suggest": "生成建议", "regenerate": "重新生成", "clear": "清空",
        "reply": "要发送的回复（可修改）", "accept": "采纳并复制", "reject": "不采纳",
        "reject_reason": "不采纳的原因", "reject_note": "备注（可选）", "use_draft": "从哪一稿开始",
        "sources": "参考资料", "drafts": "回复草稿", "no_sources": "没有找到相关资料。",
        "waiting": "输入客户消息后点击“生成建议”（Ctrl+Enter）。",
        "saved_reply": "已存答案", "model": "模型草稿", "holding": "安抚回复（已转人工）",
        "streaming": "生成中…", "cited": "已引用", "pinned": "置顶", "always": "长期有效",
        "valid": "有效期", "source_file": "文件", "score": "得分", "escalate": "请转交人工同事处理",
        "check_error": "必须修改", "check_warning": "请核对", "check_info": "提示",
        "lang": "语言", "timings": "耗时", "errors": "模型未能生成草稿",
        "errors_hint": "上面的参考资料和已存答案仍然可用；请自行撰写回复或重试。",
        "accepted": "已采纳，记录为反馈 #{id}（修改距离 {dist}）。回复已复制到剪贴板。",
        "rejected": "已记录为不采纳，反馈 #{id}。", "recent": "最近的反馈",
        "ui_lang": "界面语言", "sources_for": "参考段落", "kind_doc": "文档", "kind_faq": "常见问题",
        "kind_past_reply": "历史好回复", "kind_emergency": "应急", "kind_greeting": "问候",
        "retry": "模型因以下问题重写了一次草稿：",
        "message_checks": "关于这条消息",
    },
}
REJECT_REASONS = {
    "en": ["Wrong or missing facts", "Wrong tone", "Not what the customer asked", "Promises too much",
           "Needs a human", "Other"],
    "zh": ["事实错误或缺失", "语气不合适", "答非所问", "承诺过度", "需要人工处理", "其他"],
}
_ROLE_PREFIX = re.compile(
    r"^\s*(客户|顾客|买家|用户|customer|client|buyer|user|c|客服|卖家|商家|我|agent|staff|seller|a)\s*[:：]\s*",
    re.IGNORECASE)
_AGENT_ROLES = {"客服", "卖家", "商家", "我", "agent", "staff", "seller", "a"}


def t(lang: str, key: str, **kw: Any) -> str:
    text = TEXT.get(lang if lang in TEXT else "en", TEXT["en"]).get(key) or TEXT["en"].get(key, key)
    return text.format(**kw) if kw else text


def esc(text: Any) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


# ------------------------------------------------------------------------------------------------- history
def parse_history(value: str | Sequence[Mapping[str, str]] | None, max_chars: int = 8000
                  ) -> list[dict[str, str]]:
    """Earlier turns from the box (one turn a line, "客户:"/"customer:" or "客服:"/"agent:" in front; a line
    without a prefix continues the turn before it, or starts a customer turn) or from a JSON list of
    {"role", "content"}. Keeps the last HISTORY_TURNS_KEPT turns; refuses more than `max_chars` characters."""
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    turns: list[dict[str, str]] = []
    if isinstance(value, str):
        if len(value) > max_chars:
            raise UserError(f"the earlier turns have {len(value)} characters, more than {max_chars}; keep the "
                            "last few turns only")
        for line in value.splitlines():
            if not line.strip():
                continue
            m = _ROLE_PREFIX.match(line)
            if m:
                role = "agent" if m.group(1).lower() in _AGENT_ROLES else "customer"
                turns.append({"role": role, "content": line[m.end():].strip()})
            elif turns:
                turns[-1]["content"] += "\n" + line.strip()
            else:
                turns.append({"role": "customer", "content": line.strip()})
    elif isinstance(value, (list, tuple)):
        total = 0
        for item in value:
            if not isinstance(item, Mapping):
                raise UserError("history must be a list of {\"role\": \"customer\"|\"agent\", \"content\": \"...\"}")
            role = str(item.get("role", "customer")).lower()
            role = "agent" if role in ("agent", "assistant", "staff") else "customer"
            content = str(item.get("content", "")).strip()
            total += len(content)
            if content:
                turns.append({"role": role, "content": content})
        if total > max_chars:
            raise UserError(f"the earlier turns have {total} characters, more than {max_chars}")
    else:
        raise UserError("history must be text (one turn a line) or a list of {role, content}")
    return [turn for turn in turns if turn["content"]][-HISTORY_TURNS_KEPT:]


# --------------------------------------------------------------------------------------------------- pieces
def _linkify(raw: str, n_hits: int) -> str:
    """Escape `raw` and turn citation markers [n] into links to the source cards."""
    out, pos = [], 0
    for m in CITATION.finditer(raw):
        out.append(esc(raw[pos:m.start()]))
        nums = [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1).strip())]
        links = "".join(f'<a class="cite" href="#src-{n}" title="source {n}">[{n}]</a>' if 1 <= n <= n_hits
                        else f'<span class="cite bad">[{n}]</span>' for n in nums)
        out.append(links)
        pos = m.end()
    out.append(esc(raw[pos:]))
    return "".join(out)


def split_sentences(text: str) -> list[str]:
    """Sentences with their ending punctuation (and trailing citation markers) kept; line breaks split too.

    >>> split_sentences("您好！满99包邮[1]。还有问题吗？")
    ['您好！', '满99包邮[1]。', '还有问题吗？']
    """
    parts = re.findall(r"[^。！？!?\n.]*(?:[。！？!?]+|\.(?=\s|$)|\n|$)(?:\s*[\[【]\s*\d[\d\s,，、]*[\]】])*\s*",
                       text)
    return [p for p in parts if p.strip()]


def _where(check: Mapping[str, Any], sentences: Sequence[str]) -> int:
    """Index of the sentence a check concerns (-1: the whole draft)."""
    for key in ("sentence", "span"):
        needle = (check.get(key) or "").strip()
        if not needle:
            continue
        for i, s in enumerate(sentences):
            if needle in s or (key == "sentence" and s.strip() and s.strip() in needle):
                return i
    return -1


def _check_html(check: Mapping[str, Any], lang: str) -> str:
    sev = check.get("severity", "info")
    sev = sev if sev in ("error", "warning", "info") else "info"
    icon = {"error": "✕", "warning": "⚠", "info": "ℹ"}[sev]
    return (f'<div class="chk chk-{sev}"><span class="chk-tag">{icon} {esc(t(lang, "check_" + sev))}</span> '
            f'{esc(check.get("message", ""))}</div>')


def _sentence_html(sentence: str, checks: Sequence[Mapping[str, Any]], n_hits: int) -> str:
    span = next((c.get("span") for c in checks if c.get("span") and c["span"] in sentence), "")
    if span:
        i = sentence.index(span)
        body = (_linkify(sentence[:i], n_hits) + f"<mark>{_linkify(span, n_hits)}</mark>"
                + _linkify(sentence[i + len(span):], n_hits))
    else:
        body = _linkify(sentence, n_hits)
    worst = "error" if any(c.get("severity") == "error" for c in checks) else "warning" \
        if any(c.get("severity") == "warning" for c in checks) else ""
    body = body.replace("\n", "<br>")
    return f'<span class="sent sent-{worst}">{body}</span>' if worst else body


def draft_html(draft: Mapping[str, Any], n_hits: int, lang: str, hit_numbers: Mapping[str, int],
               streaming: bool = False, retry: Sequence[str] = ()) -> str:
    """One draft card: origin badge, the text with each warning placed under the sentence it concerns,
    citation links, and the remaining notes at the bottom."""
    origin = draft.get("origin", "model")
    text = draft.get("text", "")
    checks = [c for c in draft.get("checks") or [] if isinstance(c, Mapping)]
    sentences = split_sentences(text) or ([text] if text else [])
    placed: dict[int, list[Mapping[str, Any]]] = {}
    for c in checks:
        if c.get("severity") == "info" and c.get("name") in ("saved_reply", "escalation"):
            placed.setdefault(-1, []).append(c)
            continue
        placed.setdefault(_where(c, sentences), []).append(c)
    body = []
    for i, s in enumerate(sentences):
        here = [c for c in placed.get(i, []) if c.get("severity") != "info"] + \
               [c for c in placed.get(i, []) if c.get("severity") == "info"]
        body.append(_sentence_html(s, here, n_hits))
        if here:
            body.append('<div class="chk-group">' + "".join(_check_html(c, lang) for c in here) + "</div>")
    cites = [hit_numbers[c] for c in draft.get("citations") or [] if c in hit_numbers]
    foot = ""
    if origin != "model" and cites:
        foot = '<div class="draft-cites">' + " ".join(
            f'<a class="cite" href="#src-{n}">[{n}]</a>' for n in cites) + "</div>"
    notes = "".join(_check_html(c, lang) for c in placed.get(-1, []))
    if retry:
        notes = f'<div class="chk chk-info">↻ {esc(t(lang, "retry"))}{esc("; ".join(retry))}</div>' + notes
    label = t(lang, origin if origin in ("saved_reply", "model", "holding") else "model")
    badge = f'<span class="badge origin-{esc(origin)}">{esc(label)}</span>'
    live = f'<span class="live">{esc(t(lang, "streaming"))}</span>' if streaming else ""
    n_err = sum(1 for c in checks if c.get("severity") == "error")
    n_warn = sum(1 for c in checks if c.get("severity") == "warning")
    counts = (f'<span class="count err">✕ {n_err}</span>' if n_err else "") + \
             (f'<span class="count warn">⚠ {n_warn}</span>' if n_warn else "")
    return (f'<div class="draft-card origin-{esc(origin)}"><div class="draft-head">{badge}{live}{counts}</div>'
            f'<div class="draft-text">{"".join(body)}{"<span class=caret>▍</span>" if streaming else ""}</div>'
            f'{foot}{notes}</div>')


def drafts_html(drafts: Sequence[Mapping[str, Any]], hits: Sequence[Mapping[str, Any]], lang: str, *,
                stream_text: str | None = None, retry: Sequence[str] = (), errors: Sequence[str] = (),
                message_checks: Sequence[Mapping[str, Any]] = (), banner: str = "") -> str:
    """The drafts panel: its title, the escalation banner (already rendered), notes on the message, one card
    per draft (plus the one being streamed) and the backend error, if any."""
    numbers = {h.get("id"): i for i, h in enumerate(hits, 1)}
    cards = [draft_html(d, len(hits), lang, numbers) for d in drafts]
    if stream_text is not None:
        cards.append(draft_html({"origin": "model", "text": stream_text}, len(hits), lang, numbers,
                                streaming=True, retry=retry))
    if errors:
        cards.append(f'<div class="error-box"><b>✕ {esc(t(lang, "errors"))}</b><div>{esc("; ".join(errors))}'
                     f'</div><div class="hint">{esc(t(lang, "errors_hint"))}</div></div>')
    if message_checks:
        cards.insert(0, f'<div class="msg-checks"><b>{esc(t(lang, "message_checks"))}</b>'
                     + "".join(_check_html(c, lang) for c in message_checks) + "</div>")
    title = f'<div class="panel-title">{esc(t(lang, "drafts"))}</div>'
    if not cards and not banner:
        return f'<div class="drafts">{title}<div class="empty">{esc(t(lang, "waiting"))}</div></div>'
    return f'<div class="drafts">{banner}{title}' + "".join(cards) + "</div>"


STOPWORDS = frozenset("""a an and any are as at be but by can could did do does for from had has have how i if in
is it its me my no not of ok on or our please should so that the their them then there they this to us was we what
when where which who why will with would you your hi hello thanks thank""".split())


def highlight_terms(text: str, terms: Iterable[str]) -> str:
    """Escape `text` and wrap every occurrence of a term in <mark> (case-insensitive). Latin terms match at the
    start of a word only (a stem also marks its longer forms: "clean" marks "cleaning"); Chinese terms anywhere."""
    terms = sorted({x.casefold() for x in terms if x and len(x.strip()) >= 2}, key=len, reverse=True)[:40]
    if not terms:
        return esc(text)
    parts = [rf"(?<![A-Za-z0-9]){re.escape(x)}[A-Za-z]*" if re.fullmatch(r"[A-Za-z0-9'-]+", x) else re.escape(x)
             for x in terms]
    pattern = re.compile("|".join(parts), re.IGNORECASE)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(esc(text[pos:m.start()]))
        out.append(f"<mark>{esc(m.group(0))}</mark>")
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def query_terms(message: str) -> list[str]:
    """Words of the message worth highlighting in the passages (jieba for Chinese; no English stop words)."""
    try:
        from index.keyword import tokenize

        words = tokenize(message)
    except Exception:  # noqa: BLE001 - highlighting is cosmetic
        words = []
    words += re.findall(r"[A-Za-z0-9]{3,}", message)
    out = []
    for w in words:
        w = w.strip()
        if len(w) < 2 or w.casefold() in STOPWORDS or (w.isascii() and len(w) < 3):
            continue
        out.append(w)
    return out


def _validity(h: Mapping[str, Any], lang: str) -> str:
    vf, vu = h.get("valid_from"), h.get("valid_until")
    if not vf and not vu:
        return esc(t(lang, "always"))
    return f"{esc(vf or '…')} → {esc(vu or '…')}"


def sources_html(hits: Sequence[Mapping[str, Any]], lang: str, message: str = "",
                 cited: Iterable[str] = ()) -> str:
    """The retrieved passages as cards [n] (the numbers the model cites), with title, file, kind, validity
    window, score and the text with the message's words highlighted."""
    title = f'<div class="panel-title">{esc(t(lang, "sources"))}</div>'
    if not hits:
        return (f'<div class="sources">{title}<div class="empty">'
                f'{esc(t(lang, "no_sources") if message else t(lang, "waiting"))}</div></div>')
    cited = set(cited)
    terms = query_terms(message) if message else []
    cards = []
    for i, h in enumerate(hits, 1):
        kind = str(h.get("kind") or "doc")
        text = str(h.get("text") or "")
        badges = f'<span class="badge kind-{esc(kind)}">{esc(t(lang, "kind_" + kind))}</span>'
        if h.get("pinned"):
            badges += f'<span class="badge pinned">★ {esc(t(lang, "pinned"))}</span>'
        if h.get("id") in cited:
            badges += f'<span class="badge cited">✓ {esc(t(lang, "cited"))}</span>'
        if len(text) > PREVIEW_CHARS:
            shown = (f'{highlight_terms(text[:PREVIEW_CHARS], terms)}… <details><summary>more</summary>'
                     f'{highlight_terms(text, terms)}</details>')
        else:
            shown = highlight_terms(text, terms)
        cards.append(
            f'<div class="src-card{" is-cited" if h.get("id") in cited else ""}" id="src-{i}">'
            f'<div class="src-head"><span class="src-n">[{i}]</span><span class="src-title">{esc(h.get("title"))}'
            f'</span>{badges}</div>'
            f'<div class="src-meta"><span class="src-file" title="{esc(h.get("id"))}">{esc(h.get("source"))}</span>'
            f'<span class="src-valid">{esc(t(lang, "valid"))}: {_validity(h, lang)}</span><span>{esc(t(lang, "score"))} {float(h.get("score") or 0):.3f}'
            f'</span></div><div class="src-text">{shown.replace(chr(10), "<br>")}</div></div>')
    return f'<div class="sources">{title}' + "".join(cards) + "</div>"


def escalation_html(escalate: bool, reasons: Sequence[str], lang: str) -> str:
    if not escalate:
        return ""
    items = "".join(f"<li>{esc(r)}</li>" for r in reasons)
    return f'<div class="escalation">⚠ <b>{esc(t(lang, "escalate"))}</b><ul>{items}</ul></div>'


def status_html(lang: str, timings: Mapping[str, float] | None = None, note: str = "", level: str = "") -> str:
    parts = []
    if timings:
        keys = ("retrieve", "saved_reply", "first_token", "first_draft", "total")
        shown = [f"{k.replace('_', ' ')} {timings[k]:.0f} ms" for k in keys if k in timings]
        parts.append(f'<span class="tm">{esc(" · ".join(shown))}</span>')
        parts.insert(0, f'<span class="lang">{esc(t(lang, "lang"))}: {"中文" if lang == "zh" else "English"}</span>')
    if note:
        parts.append(f'<span class="note {esc(level)}">{esc(note)}</span>')
    return '<div class="status">' + "".join(parts) + "</div>" if parts else ""


CSS = """
.gradio-container {max-width: 1400px !important; width: 100% !important; margin: 0 auto;}
#app-header {display:flex; align-items:baseline; gap:14px; padding:4px 2px 0 2px}
#app-header h1 {font-size:1.35rem; margin:0}
#app-header .sub {color:var(--body-text-color-subdued); font-size:.9rem}
.sources, .drafts {display:flex; flex-direction:column; gap:10px}
.src-card, .draft-card {border:1px solid var(--border-color-primary); border-radius:10px; padding:10px 12px;
  background:var(--background-fill-primary)}
.src-card.is-cited {border-color:#16a34a; box-shadow:0 0 0 1px #16a34a33}
.src-card:target {outline:2px solid #2563eb}
.src-head {display:flex; align-items:center; gap:8px; flex-wrap:wrap; font-weight:600}
.src-n {color:#2563eb; font-variant-numeric:tabular-nums}
.src-title {flex:1 1 auto}
.src-meta {display:flex; gap:14px; flex-wrap:wrap; font-size:.8rem; color:var(--body-text-color-subdued); margin:4px 0}
.src-text {font-size:.88rem; line-height:1.5}
.src-text mark, .draft-text mark {background:#fef08a; color:inherit; padding:0 1px; border-radius:2px}
.badge {font-size:.72rem; font-weight:600; padding:1px 8px; border-radius:999px; background:#e5e7eb; color:#374151}
.badge.kind-faq {background:#dbeafe; color:#1e40af} .badge.kind-past_reply {background:#dcfce7; color:#166534}
.badge.kind-emergency {background:#fee2e2; color:#991b1b} .badge.pinned {background:#fde68a; color:#78350f}
.badge.cited {background:#16a34a; color:white}
.badge.origin-saved_reply {background:#dcfce7; color:#166534} .badge.origin-model {background:#e0e7ff; color:#3730a3}
.badge.origin-holding {background:#fee2e2; color:#991b1b}
.draft-head {display:flex; gap:8px; align-items:center; margin-bottom:6px}
.draft-head .count {font-size:.78rem} .live {font-size:.78rem; color:#6366f1}
.draft-text {line-height:1.6; font-size:.95rem}
.sent-error {background:#fee2e2; border-bottom:2px solid #dc2626} .sent-warning {background:#fef3c7; border-bottom:2px solid #d97706}
.chk-group {margin:2px 0 6px 0}
.chk {font-size:.82rem; padding:3px 8px; border-radius:6px; margin:3px 0}
.chk-error {background:#fef2f2; color:#991b1b; border-left:3px solid #dc2626}
.chk-warning {background:#fffbeb; color:#92400e; border-left:3px solid #d97706}
.chk-info {background:#f1f5f9; color:#334155; border-left:3px solid #94a3b8}
.chk-tag {font-weight:600}
.prose a.cite, a.cite {text-decoration:none; color:#2563eb; font-weight:600; font-size:.85em; padding:0 1px;
  margin:0; display:inline}
.src-file {font-family:ui-monospace, Menlo, monospace}
.draft-head .count.err {color:#b91c1c; font-weight:600} .draft-head .count.warn {color:#b45309; font-weight:600}
.cite.bad {color:#dc2626; text-decoration:line-through}
.draft-cites {font-size:.8rem; margin-top:4px}
.escalation {background:#fef2f2; border:1px solid #fca5a5; color:#7f1d1d; border-radius:10px; padding:10px 14px}
.escalation ul {margin:4px 0 0 18px}
.error-box {background:#fff7ed; border:1px solid #fdba74; color:#7c2d12; border-radius:10px; padding:10px 12px}
.error-box .hint {font-size:.82rem; margin-top:4px}
.msg-checks {border:1px dashed var(--border-color-primary); border-radius:10px; padding:8px 12px}
.status {display:flex; gap:16px; flex-wrap:wrap; font-size:.8rem; color:var(--body-text-color-subdued)}
.status .note.ok {color:#166534} .status .note.error {color:#b91c1c}
.empty {color:var(--body-text-color-subdued); font-size:.9rem; padding:8px 2px}
.caret {color:#6366f1; animation: blink 1s steps(1) infinite} @keyframes blink {50% {opacity:0}}
#reply-box textarea {font-size:.98rem; line-height:1.55}
.panel-title {font-weight:600; font-size:.95rem; margin:0 0 2px 2px}
"""

# Ctrl/Cmd+Enter in the message or history box presses Suggest.
HEAD = """
<script>
document.addEventListener('keydown', function (e) {
  if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey)) return;
  var t = e.target;
  if (!t || !t.closest || !(t.closest('#message-box') || t.closest('#history-box'))) return;
  var b = document.querySelector('#suggest-btn');
  if (b) { e.preventDefault(); b.click(); }
});
</script>
"""

# Copies the reply box to the clipboard inside the click (a user gesture), with a fallback for plain http.
COPY_JS = """
(text) => {
  const value = text || '';
  const fallback = () => {
    const ta = document.createElement('textarea');
    ta.value = value; ta.setAttribute('readonly', ''); ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } catch (e) {}
    document.body.removeChild(ta);
  };
  try {
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(value).catch(fallback); }
    else { fallback(); }
  } catch (e) { fallback(); }
  return value;
}
"""
