"""What the agent sees, as HTML: the sources panel with the evidence sentences highlighted, the draft cards (the
one built from the knowledge base first, the model's rephrasing beside it with its differences from the evidence
marked, each warning under the sentence it concerns), the escalation and "not in the knowledge base" banners, the
similar past replies and the status line. Every text that comes from a message, a draft or the knowledge base is
escaped here (`html.escape`) before any markup is added; a key the suggestion lacks just leaves its part out."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from app_parts.highlight import Marked, highlight_passage, locate, marked_spans, query_terms, wrap_marks
from app_parts.texts import t
from core.language import split_sentences
from suggest.prompting import CITATION

PREVIEW_CHARS = 420
DRAFT_NOTES = ("saved_reply", "escalation", "fell_back", "not_in_knowledge_base", "low_confidence")  # whole-draft
FIRST_ORIGINS = ("composed", "holding", "saved_reply")  # the order of the drafts shown before the others
TIMINGS = ("retrieve", "composed", "saved_reply", "first_token", "first_draft", "total")
_LEADING_CITATIONS = re.compile(rf"(?:\s*{CITATION.pattern})+\s*")


def esc(text: Any) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


def _linkify(raw: str, n_hits: int, lang: str) -> str:
    """Escape `raw` and turn citation markers [n] into links to the source cards."""
    out, pos = [], 0
    for m in CITATION.finditer(raw):
        out.append(esc(raw[pos:m.start()]))
        nums = [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1).strip())]
        links = "".join(f'<a class="cite" href="#src-{n}" title="{esc(t(lang, "source_n", n=n))}">[{n}]</a>'
                        if 1 <= n <= n_hits
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
    if check.get("name") in DRAFT_NOTES:
        return -1
    for key in ("sentence", "span"):
        needle = (check.get(key) or "").strip()
        if not needle:
            continue
        for i, s in enumerate(sentences):
            if needle in s or (key == "sentence" and s.strip() and s.strip() in needle):
                return i
    return -1


def _check_html(check: Mapping[str, Any], lang: str) -> str:
    sev = _severity(check)
    icon = {"error": "✕", "warning": "⚠", "info": "ℹ"}[sev]
    return (f'<div class="chk chk-{sev}"><span class="chk-tag">{icon} {esc(t(lang, "check_" + sev))}</span> '
            f'{esc(check.get("message", ""))}</div>')


def _severity(check: Mapping[str, Any]) -> str:
    sev = check.get("severity", "info")
    return sev if sev in ("error", "warning", "info") else "info"


def _sentence_html(sentence: str, checks: Sequence[Mapping[str, Any]], n_hits: int, lang: str) -> str:
    """One sentence, escaped, with its citations linked and the span of each of its checks (e.g. a figure the
    model changed) marked, the check's message on hover."""
    marks = [Marked(str(c["span"]), str(c.get("message", "")), f"diff diff-{_severity(c)}")
             for c in checks if c.get("span")]
    body = wrap_marks(sentence, marks, lambda piece: _linkify(piece, n_hits, lang)).replace("\n", "<br>")
    worst = next((sev for sev in ("error", "warning") if any(c.get("severity") == sev for c in checks)), "")
    return f'<span class="sent sent-{worst}">{body}</span>' if worst else body


def _has(draft: Mapping[str, Any], check_name: str) -> bool:
    return any(isinstance(c, Mapping) and c.get("name") == check_name for c in draft.get("checks") or [])


def draft_label(draft: Mapping[str, Any], lang: str) -> str:
    """The name of a draft's kind in `lang` (the honest "let me check" reply named apart from an escalation's)."""
    origin = draft.get("origin")
    if origin == "holding" and _has(draft, "not_in_knowledge_base"):
        return t(lang, "check_back")
    return t(lang, origin if origin in ("composed", "saved_reply", "model", "holding") else "model")


@dataclass
class DraftLayout:
    """The drafts as shown: `first` (the draft built from the knowledge base, else the holding or saved reply),
    the model's rephrasing beside it, then the rest."""

    first: list[Mapping[str, Any]] = field(default_factory=list)
    model: list[Mapping[str, Any]] = field(default_factory=list)
    rest: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def shown(self) -> list[Mapping[str, Any]]:
        return self.first + self.model + self.rest


def draft_layout(drafts: Sequence[Mapping[str, Any]]) -> DraftLayout:
    """Where each draft goes (see DraftLayout): drafts not from the model ranked by FIRST_ORIGINS, stably.

    >>> [d["origin"] for d in draft_layout([{"origin": "model"}, {"origin": "saved_reply"},
    ...                                     {"origin": "composed"}]).shown]
    ['composed', 'model', 'saved_reply']
    """
    rank = {origin: i for i, origin in enumerate(FIRST_ORIGINS)}
    ready = sorted((d for d in drafts if d.get("origin") != "model"),
                   key=lambda d: rank.get(str(d.get("origin")), len(rank)))
    return DraftLayout(ready[:1], [d for d in drafts if d.get("origin") == "model"], ready[1:])


def draft_html(draft: Mapping[str, Any], n_hits: int, lang: str, hit_numbers: Mapping[str, int],
               streaming: bool = False, retry: Sequence[str] = ()) -> str:
    """One draft card: its label, a plain note when the model's rephrasing fell back to the composed draft, the
    text with each warning placed under the sentence it concerns and each check's span marked, citation links,
    and the notes on the whole draft at the bottom."""
    origin = str(draft.get("origin") or "model")
    text = str(draft.get("text") or "")
    checks = [c for c in draft.get("checks") or [] if isinstance(c, Mapping)]
    sentences = display_sentences(text) or ([text] if text else [])
    placed: dict[int, list[Mapping[str, Any]]] = {}
    for c in checks:
        placed.setdefault(_where(c, sentences), []).append(c)
    body = []
    for i, s in enumerate(sentences):
        here = sorted(placed.get(i, []), key=lambda c: c.get("severity") == "info")
        body.append(_sentence_html(s, here, n_hits, lang))
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
    fell_back = _has(draft, "fell_back")
    plain = f'<div class="fell-back">↩ {esc(t(lang, "fell_back"))}</div>' if fell_back else ""
    badge = f'<span class="badge origin-{esc(origin)}">{esc(draft_label(draft, lang))}</span>'
    live = f'<span class="live">{esc(t(lang, "streaming"))}</span>' if streaming else ""
    n_err = sum(1 for c in checks if c.get("severity") == "error")
    n_warn = sum(1 for c in checks if c.get("severity") == "warning")
    counts = (f'<span class="count err">✕ {n_err}</span>' if n_err else "") + \
             (f'<span class="count warn">⚠ {n_warn}</span>' if n_warn else "")
    return (f'<div class="draft-card origin-{esc(origin)}{" is-fell-back" if fell_back else ""}">'
            f'<div class="draft-head">{badge}{live}{counts}</div>{plain}'
            f'<div class="draft-text">{"".join(body)}{"<span class=caret>▍</span>" if streaming else ""}</div>'
            f'{foot}{notes}</div>')


def drafts_html(drafts: Sequence[Mapping[str, Any]], hits: Sequence[Mapping[str, Any]], lang: str, *,
                stream_text: str | None = None, retry: Sequence[str] = (), errors: Sequence[str] = (),
                message_checks: Sequence[Mapping[str, Any]] = (), banner: str = "",
                similar: Sequence[Mapping[str, Any]] = ()) -> str:
    """The drafts panel: the banners (already rendered), its title, notes on the message, the first draft and
    the model's (or the one being streamed) side by side, the other drafts, the backend error if any, and the
    similar past replies, collapsed."""
    numbers = {h.get("id"): i for i, h in enumerate(hits, 1)}
    layout = draft_layout(drafts)
    top = [draft_html(d, len(hits), lang, numbers) for d in layout.first + layout.model]
    if stream_text is not None:
        top.append(draft_html({"origin": "model", "text": stream_text}, len(hits), lang, numbers,
                              streaming=True, retry=retry))
    cards = [f'<div class="draft-pair">{"".join(top)}</div>'] if len(top) > 1 else top
    cards += [draft_html(d, len(hits), lang, numbers) for d in layout.rest]
    if errors:
        cards.append(f'<div class="error-box"><b>✕ {esc(t(lang, "errors"))}</b><div>{esc("; ".join(errors))}'
                     f'</div><div class="hint">{esc(t(lang, "errors_hint"))}</div></div>')
    if message_checks:
        cards.insert(0, f'<div class="msg-checks"><b>{esc(t(lang, "message_checks"))}</b>'
                     + "".join(_check_html(c, lang) for c in message_checks) + "</div>")
    if similar:
        cards.append(similar_html(similar, numbers, lang))
    title = f'<div class="panel-title">{esc(t(lang, "drafts"))}</div>'
    if not cards and not banner:
        return f'<div class="drafts">{title}<div class="empty">{esc(t(lang, "waiting"))}</div></div>'
    return f'<div class="drafts">{banner}{title}' + "".join(cards) + "</div>"


def similar_html(similar: Sequence[Mapping[str, Any]], hit_numbers: Mapping[str, int], lang: str) -> str:
    """The similar past replies, collapsed: too unsure to be offered as a draft, listed for reference with the
    source they come from and their notes (e.g. how well they match)."""
    items = []
    for s in similar:
        n = hit_numbers.get(s.get("source_id") or s.get("id"))
        ref = f'<a class="cite" href="#src-{n}">[{n}]</a> ' if n else ""
        name = s.get("title") or s.get("source") or ""
        score = s.get("score")
        meta = f' <span class="sim-score">{esc(t(lang, "score"))} {float(score):.2f}</span>' \
            if isinstance(score, (int, float)) else ""
        notes = "".join(_check_html(c, lang) for c in s.get("checks") or [] if isinstance(c, Mapping))
        items.append(f'<div class="similar-item"><div class="sim-head">{ref}{esc(name)}{meta}</div>'
                     f'<div class="sim-text">{esc(s.get("text")).replace(chr(10), "<br>")}</div>{notes}</div>')
    return (f'<details class="similar"><summary>{esc(t(lang, "similar", n=len(items)))}</summary>'
            + "".join(items) + "</details>")


def _validity(h: Mapping[str, Any], lang: str) -> str:
    vf, vu = h.get("valid_from"), h.get("valid_until")
    if not vf and not vu:
        return esc(t(lang, "always"))
    return f"{esc(vf or '…')} → {esc(vu or '…')}"


def _score(item: Mapping[str, Any]) -> str:
    return f"{float(item.get('score') or 0):.2f}"


def evidence_marks(hit: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]], lang: str) -> list[Marked]:
    """The sentences to mark in a hit: the evidence the drafts are built from first, then the hit's other scored
    sentences (score on hover only)."""
    chosen = [Marked(str(e["sentence"]), t(lang, "evidence_title", score=_score(e)))
              for e in evidence if e.get("hit_id") == hit.get("id") and e.get("sentence")]
    scored = [Marked(str(e["sentence"]), t(lang, "sentence_score", score=_score(e)), "ev-other")
              for e in hit.get("evidence") or [] if isinstance(e, Mapping) and e.get("sentence")]
    return chosen + scored


def sources_html(hits: Sequence[Mapping[str, Any]], lang: str, message: str = "",
                 cited: Iterable[str] = (), evidence: Sequence[Mapping[str, Any]] = ()) -> str:
    """The retrieved passages as cards [n] (the numbers the model cites), with title, file, kind, validity
    window, score and the text with the evidence sentences and the message's words highlighted."""
    title = f'<div class="panel-title">{esc(t(lang, "sources"))}</div>'
    if not hits:
        return (f'<div class="sources">{title}<div class="empty">'
                f'{esc(t(lang, "no_sources") if message else t(lang, "waiting"))}</div></div>')
    cited = set(cited)
    evidence = [e for e in evidence if isinstance(e, Mapping)]
    terms = query_terms(message) if message else []
    cards = []
    for i, h in enumerate(hits, 1):
        kind = str(h.get("kind") or "doc")
        text = str(h.get("text") or "")
        marks = evidence_marks(h, evidence, lang)
        is_evidence = any(m.cls == "ev" and locate(text, m.text) for m in marks)
        badges = f'<span class="badge kind-{esc(kind)}">{esc(t(lang, "kind_" + kind))}</span>'
        if h.get("pinned"):
            badges += f'<span class="badge pinned">★ {esc(t(lang, "pinned"))}</span>'
        if is_evidence:
            badges += f'<span class="badge evidence">◆ {esc(t(lang, "evidence"))}</span>'
        if h.get("id") in cited:
            badges += f'<span class="badge cited">✓ {esc(t(lang, "cited"))}</span>'
        # the preview always shows the evidence whole
        cut = max([PREVIEW_CHARS] + [end for _, end, m in marked_spans(text, marks) if m.cls == "ev"])
        if len(text) > cut:
            shown = (f'{highlight_passage(text[:cut], terms, marks)}… <details><summary>{esc(t(lang, "more"))}'
                     f'</summary>{highlight_passage(text, terms, marks)}</details>')
        else:
            shown = highlight_passage(text, terms, marks)
        classes = "src-card" + (" is-cited" if h.get("id") in cited else "") + (" has-evidence" if is_evidence else "")
        cards.append(
            f'<div class="{classes}" id="src-{i}">'
            f'<div class="src-head"><span class="src-n">[{i}]</span><span class="src-title">{esc(h.get("title"))}'
            f'</span>{badges}</div>'
            f'<div class="src-meta"><span class="src-file" title="{esc(h.get("id"))}">{esc(h.get("source"))}</span>'
            f'<span class="src-valid">{esc(t(lang, "valid"))}: {_validity(h, lang)}</span>'
            f'<span>{esc(t(lang, "score"))} {float(h.get("score") or 0):.3f}</span></div>'
            f'<div class="src-text">{shown.replace(chr(10), "<br>")}</div></div>')
    return f'<div class="sources">{title}' + "".join(cards) + "</div>"


def escalation_html(escalate: bool, reasons: Sequence[str], lang: str) -> str:
    if not escalate:
        return ""
    items = "".join(f"<li>{esc(r)}</li>" for r in reasons)
    return f'<div class="escalation">⚠ <b>{esc(t(lang, "escalate"))}</b><ul>{items}</ul></div>'


def not_in_kb_html(answerable: bool | None, confidence: Any, lang: str) -> str:
    """The "not in the knowledge base" banner, when the evidence does not clear the calibrated confidence
    (`answerable` false; absent or None: nothing is said)."""
    if answerable is not False:
        return ""
    shown = f"{float(confidence):.2f}" if isinstance(confidence, (int, float)) else "–"
    return (f'<div class="not-in-kb">? <b>{esc(t(lang, "not_in_kb"))}</b>'
            f'<div>{esc(t(lang, "not_in_kb_hint", confidence=shown))}</div></div>')


def status_html(lang: str, timings: Mapping[str, float] | None = None, note: str = "", level: str = "") -> str:
    parts = []
    if timings:
        shown = [f"{t(lang, 'tm_' + k)} {timings[k]:.0f} ms" for k in TIMINGS if k in timings]
        parts.append(f'<span class="tm">{esc(" · ".join(shown))}</span>')
        parts.insert(0, f'<span class="lang">{esc(t(lang, "lang"))}: {"中文" if lang == "zh" else "English"}</span>')
    if note:
        parts.append(f'<span class="note {esc(level)}">{esc(note)}</span>')
    return '<div class="status">' + "".join(parts) + "</div>" if parts else ""
