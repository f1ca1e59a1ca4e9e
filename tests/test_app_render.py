"""The agent desk's HTML for evidence-first suggestions (issue 10): evidence sentences highlighted in their sources,
the draft built from the knowledge base first with the model's rephrasing beside it and its differences from the
evidence marked, the "not in the knowledge base" banner, similar past replies; a suggestion without these keys
(today's shape) still renders. Fixtures are hand-written dicts following the Suggestion JSON contract."""
from __future__ import annotations

import re
from html import escape
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from app_parts.agent_view import agent_handlers
from app_parts.highlight import Marked, highlight_passage, locate
from app_parts.render import (draft_label, draft_layout, drafts_html, not_in_kb_html, similar_html, sources_html,
                              status_html)
from app_parts.texts import LANGS, t
from core.events import DoneEvent, DraftEvent, HitsEvent, TokenEvent
from core.types import Check, Draft

SHIPPING = ("全店实付满 ¥99 包邮；不满 ¥99 运费 ¥8。\n偏远地区（新疆、西藏）不参与包邮。"
            "一般 48 小时内发货。")
HITS = [
    {"id": "p1", "source": "policies/shipping.zh.md", "title": "运费", "text": SHIPPING, "score": 0.9,
     "kind": "doc", "valid_from": None, "valid_until": None, "pinned": False,
     "evidence": [{"sentence": "全店实付满 ¥99 包邮；不满 ¥99 运费 ¥8。", "score": 0.83},
                  {"sentence": "一般 48 小时内发货。", "score": 0.31}]},
    {"id": "p2", "source": "faq/faq.csv", "title": "发票", "text": "可以开电子发票。", "score": 0.4, "kind": "faq"},
]
EVIDENCE = [{"hit_id": "p1", "sentence": "全店实付满 ¥99 包邮；不满 ¥99 运费 ¥8。", "score": 0.83}]
COMPOSED = {"origin": "composed", "text": "您好！全店实付满 ¥99 包邮；不满 ¥99 运费 ¥8。还有什么可以帮您？",
            "citations": ["p1"], "checks": []}
MODEL = {"origin": "model", "text": "您好！全店满45元包邮[1]。还有什么可以帮您？", "citations": ["p1"],
         "checks": [{"name": "fact_changed", "severity": "error", "message": "资料说“¥99”，回复却说“45元”。",
                     "span": "45元", "sentence": "全店满45元包邮[1]。"},
                    {"name": "fell_back", "severity": "warning", "message": "模型改写后的回复与依据不一致"}]}
CHECK_BACK = {"origin": "holding", "text": "您好！这个问题我核实一下，稍后答复您。", "citations": [],
              "checks": [{"name": "not_in_knowledge_base", "severity": "warning", "message": "知识库里没有"}]}
SAVED = {"origin": "saved_reply", "text": "可以开电子发票。", "citations": ["p2"], "source_id": "p2", "checks": []}


# ------------------------------------------------------------------------------------------------ evidence
def test_evidence_sentences_are_highlighted_with_their_score_and_the_cited_badge_stays():
    out = sources_html(HITS, "en", message="满多少包邮", cited=["p1"], evidence=EVIDENCE)
    words_unmarked = re.sub(r"<mark>(.*?)</mark>", r"\1", out)  # the message's words are marked too
    chosen = re.findall(r'<mark class="ev" title="([^"]*)">(.*?)</mark>', words_unmarked)
    assert chosen and chosen[0][0] == t("en", "evidence_title", score="0.83")
    assert "¥99" in chosen[0][1] and "运费 ¥8" in chosen[0][1]
    assert '<mark class="ev-other" title="Sentence score 0.31">' in out  # another scored sentence: hover only
    first, second = out.split('<div class="src-card')[1:]
    assert "has-evidence" in first and "badge evidence" in first and "badge cited" in first and "is-cited" in first
    assert "has-evidence" not in second and 'class="ev' not in second


@pytest.mark.parametrize("text, sentence, found", [
    ("Free over ¥99. Remote regions pay ¥8.", "Remote regions pay ¥8.", (15, 37)),
    ("满99包邮；\n不满99运费8元。", "满99包邮；不满99运费8元。", (0, 16)),  # re-joined across a line break
    ("Free over ¥99.", "  Free over ¥99.  ", (0, 14)),
    ("Free over ¥99.", "Ships in 48h.", None),
    ("Free over ¥99.", "", None),
])
def test_an_evidence_sentence_is_found_in_its_passage_whitespace_aside(text, sentence, found):
    assert locate(text, sentence) == found


def test_evidence_beyond_the_preview_is_shown_whole():
    text = "x" * 500 + " The answer is here."
    hits = [{"id": "p", "source": "a.md", "title": "A", "text": text + " " + "y" * 300, "score": 0.5}]
    out = sources_html(hits, "zh", evidence=[{"hit_id": "p", "sentence": "The answer is here.", "score": 0.7}])
    preview = out[:out.index("<details>")]
    assert '<mark class="ev"' in preview and "The answer is here.</mark>…" in preview
    assert t("zh", "more") in out


def test_the_message_words_stay_marked_inside_the_evidence():
    out = highlight_passage("Hi. Shipping is free over ¥99.", ["shipping"], [Marked("Shipping is free over ¥99.", "s")])
    assert out == 'Hi. <mark class="ev" title="s"><mark>Shipping</mark> is free over ¥99.</mark>'


# -------------------------------------------------------------------------------------------------- drafts
@pytest.mark.parametrize("origins, shown", [
    (["model", "composed"], ["composed", "model"]),
    (["composed", "saved_reply", "model"], ["composed", "model", "saved_reply"]),
    (["saved_reply", "model", "composed"], ["composed", "model", "saved_reply"]),
    (["holding", "model"], ["holding", "model"]),
    (["saved_reply", "model"], ["saved_reply", "model"]),  # today's suggestions
    (["model"], ["model"]),
    ([], []),
])
def test_the_composed_draft_is_shown_first_and_the_model_beside_it(origins, shown):
    drafts = [{"origin": o, "text": o} for o in origins]
    assert [d["origin"] for d in draft_layout(drafts).shown] == shown
    out = drafts_html(drafts, HITS, "en")
    assert [m for m in re.findall(r'class="draft-card origin-(\w+)', out)] == shown
    if len(shown) > 1 and "model" in shown:
        pair = out[out.index('<div class="draft-pair">'):]
        assert pair.index(f"origin-{shown[0]}") < pair.index("origin-model")


@pytest.mark.parametrize("lang", LANGS)
def test_each_card_is_labelled_in_the_ui_language(lang):
    out = drafts_html([MODEL, COMPOSED], HITS, lang)
    assert out.index(escape(t(lang, "composed"))) < out.index(escape(t(lang, "model")))
    assert draft_label(CHECK_BACK, lang) == t(lang, "check_back")
    assert draft_label({"origin": "holding", "text": "", "checks": []}, lang) == t(lang, "holding")
    assert draft_label({"origin": "something_new"}, lang) == t(lang, "model")


def test_the_model_draft_marks_its_fact_differences_and_says_it_fell_back():
    out = drafts_html([COMPOSED, MODEL], HITS, "en")
    model = out[out.index("origin-model"):]
    assert '<mark class="diff diff-error" title="资料说“¥99”，回复却说“45元”。">45元</mark>' in model
    # the message sits under the sentence it concerns, before the next sentence
    assert model.index("45元</mark>") < model.index("</span> 资料说") < model.index("还有什么")
    assert escape(t("en", "fell_back")) in model and "is-fell-back" in model
    assert "fell_back" not in out[:out.index("origin-model")] and "<mark" not in out[:out.index("origin-model")]
    assert 'href="#src-1"' in model


def test_a_streaming_model_draft_sits_beside_the_composed_one():
    out = drafts_html([COMPOSED], HITS, "zh", stream_text="您好，全店", retry=["figures"])
    pair = out[out.index('<div class="draft-pair">'):]
    assert pair.index("origin-composed") < pair.index("origin-model") < pair.index(t("zh", "streaming"))


# ------------------------------------------------------------------------------- not in the knowledge base
@pytest.mark.parametrize("answerable, confidence, banner", [
    (False, 0.31, True), (False, None, True), (True, 0.9, False), (None, 0.0, False),
])
def test_the_banner_shows_only_when_the_knowledge_does_not_answer(answerable, confidence, banner):
    out = not_in_kb_html(answerable, confidence, "zh")
    assert (t("zh", "not_in_kb") in out) is banner
    if banner:
        assert ("0.31" in out) is (confidence is not None)


def test_not_answerable_shows_the_check_back_draft_and_similar_replies_collapsed():
    similar = [{**SAVED, "checks": [{"name": "low_confidence", "severity": "info", "message": "匹配度 0.41"}]},
               {"id": "p9", "title": "<b>旧回复</b>", "source": "faq/past.csv", "text": "好的呢", "score": 0.4}]
    out = drafts_html([CHECK_BACK], HITS, "en", banner=not_in_kb_html(False, 0.2, "en"), similar=similar)
    assert out.index(t("en", "not_in_kb")) < out.index(t("en", "check_back")) < out.index('<details class="similar">')
    section = out[out.index('<details class="similar">'):]
    assert t("en", "similar", n=2) in section and '<a class="cite" href="#src-2">[2]</a>' in section
    assert "匹配度 0.41" in section and "score 0.40" in section and "&lt;b&gt;旧回复" in section
    assert "<details open" not in section  # collapsed


# ----------------------------------------------------------------------------------- old shapes and escaping
def test_a_suggestion_without_the_new_keys_renders_as_before():
    old_hits = [{k: v for k, v in h.items() if k != "evidence"} for h in HITS]
    out = sources_html(old_hits, "en", message="包邮", cited=["p1"])
    assert 'class="ev' not in out and "badge evidence" not in out and "is-cited" in out and "<mark>" in out
    drafts = [{"origin": "saved_reply", "text": "可以。"}, {"origin": "model", "text": "可以[1]。"}]
    out = drafts_html(drafts, old_hits, "zh", similar=[])
    assert "similar" not in out and "not-in-kb" not in out and "draft-pair" in out
    assert similar_html([], {}, "en").count("similar-item") == 0
    assert sources_html(old_hits, "en", evidence=[{"sentence": "no hit id"}, {"hit_id": "p1"}])  # partial items


def test_text_from_passages_drafts_and_evidence_is_escaped():
    evil = "<script>alert(1)</script>"
    hits = [{"id": "p1", "source": "a.md", "title": evil, "text": f"Free over ¥99. {evil} Done.", "score": 0.1,
             "evidence": [{"sentence": evil, "score": 0.2}]}]
    evidence = [{"hit_id": "p1", "sentence": f"{evil} Done.", "score": 0.5}]
    drafts = [{"origin": "composed", "text": evil, "checks": []},
              {"origin": "model", "text": f"Sure {evil}.", "checks": [
                  {"name": "markup", "severity": "error", "message": evil, "span": evil}]}]
    outs = [sources_html(hits, "en", message=evil, evidence=evidence),
            drafts_html(drafts, hits, "zh", similar=[{"text": evil, "title": evil}], banner=""),
            status_html("en", {"total": 1.0}, note=evil)]
    for out in outs:
        assert "<script>" not in out and "&lt;script&gt;" in out


@pytest.mark.parametrize("lang", LANGS)
def test_the_status_line_names_its_timings_in_the_ui_language(lang):
    out = status_html(lang, {"retrieve": 12.0, "composed": 30.0, "total": 900.0})
    assert f'{t(lang, "tm_retrieve")} 12 ms' in out and f'{t(lang, "tm_composed")} 30 ms' in out


# --------------------------------------------------------------------------------------- the desk's wiring
@dataclass
class StubSuggestion:
    """The few members the desk reads of a Suggestion, with a to_dict() following the issue-10 contract."""
    data: dict[str, Any]
    language: str = "zh"
    drafts: list[Draft] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.data, "drafts": [d.to_dict() for d in self.drafts], "errors": list(self.errors)}


def _desk(events_of):
    copilot = SimpleNamespace(run=lambda text, **kw: events_of(text))
    service = SimpleNamespace(validate=lambda message, history: (message, []), copilot=copilot,
                              today=lambda: None)
    return agent_handlers(service)


def _composed_then_model(_text):
    sug = StubSuggestion({"hits": HITS, "evidence": EVIDENCE, "answerable": True, "confidence": 0.83,
                          "message_checks": [], "escalate": False, "escalation_reasons": [], "timings_ms": {}})
    yield HitsEvent(sug)
    composed = Draft(COMPOSED["text"], ["p1"], origin="composed")
    sug.drafts.append(composed)
    yield DraftEvent(composed)
    for piece in ("您好！", "全店满45元包邮[1]。"):
        yield TokenEvent(piece)
    model = Draft(MODEL["text"], ["p1"], [Check("fact_changed", "error", "资料说“¥99”", span="45元")])
    sug.drafts.append(model)
    yield DraftEvent(model)
    yield DoneEvent(sug)


def test_the_reply_starts_from_the_composed_draft_and_the_picker_follows_the_cards():
    outs = list(_desk(_composed_then_model)["suggest"]("满多少包邮？", "", "auto", None))
    status, drafts, sources, reply, picker, state = outs[-1]
    assert reply == COMPOSED["text"] and state["origin"] == "composed"
    assert [d["origin"] for d in state["drafts"]] == ["composed", "model"]
    assert [label for label, _ in picker["choices"]] == [t("zh", "composed"), t("zh", "model")]
    assert picker["value"] == 0
    assert drafts.index("origin-composed") < drafts.index("origin-model") and "diff-error" in drafts
    assert '<mark class="ev"' in sources
    assert all(out[3] == COMPOSED["text"] for out in outs[2:])  # the stream never takes the reply box over


def test_not_answerable_shows_the_banner_at_once():
    def events(_text):
        sug = StubSuggestion({"hits": HITS, "answerable": False, "confidence": 0.12, "message_checks": [],
                              "similar_replies": [SAVED]})
        yield HitsEvent(sug)
        draft = Draft(CHECK_BACK["text"], origin="holding", checks=[Check("not_in_knowledge_base", "warning", "x")])
        sug.drafts.append(draft)
        yield DraftEvent(draft)
        yield DoneEvent(sug)

    outs = list(_desk(events)["suggest"]("这是真品的吗", "", "en", None))
    assert t("en", "not_in_kb") in outs[0][1] and "0.12" in outs[0][1]
    status, drafts, sources, reply, picker, state = outs[-1]
    assert reply == CHECK_BACK["text"] and t("en", "check_back") in drafts and '<details class="similar">' in drafts
