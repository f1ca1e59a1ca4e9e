"""What the agent sees, as HTML: the sources panel, the draft cards with their warnings next to the sentence
they concern, the escalation banner and the status line. Every text that comes from a message, a draft or the
knowledge base is escaped here (`html.escape`) before any markup is added."""
from __future__ import annotations

import html
import re
from typing import Any, Iterable, Mapping, Sequence

from app_parts.highlight import highlight_terms, query_terms
from app_parts.texts import t
from core.language import split_sentences
from suggest.prompting import CITATION

PREVIEW_CHARS = 420
_LEADING_CITATIONS = re.compile(rf"(?:\s*{CITATION.pattern})+\s*")


def esc(text: Any) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


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


def display_sentences(text: str) -> list[str]:
    """The sentences of `text` (core.language's split) as display pieces that join back into the whole text:
    each keeps the spaces and line breaks after it, and citation markers right after a sentence end stay with it.

    >>> display_sentences("您好！满99包邮。[1] 还有问题吗？")
    ['您好！', '满99包邮。[1] ', '还有问题吗？']
    """
    spans = split_sentences(text)
    pieces: list[str] = []
    for i, (start, _, _) in enumerate(spans):
        piece = text[start if pieces else 0:spans[i + 1][0] if i + 1 < len(spans) else len(text)]
        markers = _LEADING_CITATIONS.match(piece) if pieces else None
        if markers:
            pieces[-1] += markers.group()
            piece = piece[markers.end():]
        if piece.strip():
            pieces.append(piece)
        elif pieces:
            pieces[-1] += piece
    return pieces


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
    sentences = display_sentences(text) or ([text] if text else [])
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
