"""The dataclasses that travel end to end: index → retrieval → drafting → checks → UI/CLI/eval.

Every layer passes these objects; the CLI `--json`, the Gradio API and the eval harness serialise them with
`to_dict()` (DESIGN §4 shapes).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("doc", "faq", "past_reply", "emergency", "greeting")


@dataclass
class Passage:
    """One retrievable piece of knowledge.

    `id` is stable while `text` is unchanged (a hash of source + title + text); `source` is the file path
    relative to the knowledge folder. Dates are ISO strings or None. `flags` are set at build time
    ("instruction", "duplicate"); `flag_reasons` says why, in plain words, for a maintainer (flag → reason).
    """

    id: str
    source: str
    title: str
    text: str
    kind: str = "doc"
    question: str = ""
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    valid_from: str | None = None
    valid_until: str | None = None
    line: int = 0
    lang: str = ""
    flags: list[str] = field(default_factory=list)
    flag_reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Passage":
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Evidence:
    """One sentence that answers the message, the id of the passage it comes from and how well it answers (0..1)."""

    hit_id: str
    sentence: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"hit_id": self.hit_id, "sentence": self.sentence, "score": round(float(self.score), 4)}


@dataclass
class Hit:
    """A retrieved passage with its fused score and the ranks it had on each side (0 = not found there);
    `evidence` holds its sentences scored against the message (best first) once evidence is selected."""

    passage: Passage
    score: float
    dense_score: float = 0.0  # cosine similarity of message and passage (0 when not found by the dense side)
    dense_rank: int = 0
    keyword_rank: int = 0
    pinned: bool = False
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.passage.id

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "id": p.id, "source": p.source, "title": p.title, "text": p.text,
            "score": round(float(self.score), 6), "kind": p.kind,
            "valid_from": p.valid_from, "valid_until": p.valid_until, "pinned": self.pinned,
            "evidence": [{"sentence": e.sentence, "score": round(float(e.score), 4)} for e in self.evidence],
        }


@dataclass
class Check:
    """One finding on a draft: `severity` is "error" (must fix), "warning" (look at it) or "info"."""

    name: str
    severity: str
    message: str
    span: str = ""
    sentence: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "severity": self.severity, "message": self.message}
        if self.span:
            d["span"] = self.span
        if self.sentence:
            d["sentence"] = self.sentence
        return d


@dataclass
class Draft:
    """A reply proposal: `origin` is "composed" (from the evidence, no model), "saved_reply", "model" or "holding"
    (an escalation reply, or "let me check" when the knowledge base does not answer)."""

    text: str
    citations: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    origin: str = "model"
    source_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"text": self.text, "citations": list(self.citations),
             "checks": [c.to_dict() for c in self.checks], "origin": self.origin}
        if self.source_id:
            d["source_id"] = self.source_id
        return d


@dataclass
class Suggestion:
    """Everything the agent sees for one customer message (DESIGN §4 JSON shape).

    `evidence` are the sentences the drafts are built from; `answerable` says whether they clear the calibrated
    confidence (None before it is judged); `similar` are saved replies too unsure to be offered as the draft."""

    message: str
    language: str
    hits: list[Hit] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    escalate: bool = False
    escalation_reasons: list[str] = field(default_factory=list)
    message_checks: list[Check] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    answerable: bool | None = None
    confidence: float = 0.0
    similar: list[Draft] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "hits": [h.to_dict() for h in self.hits],
            "drafts": [d.to_dict() for d in self.drafts],
            "escalate": self.escalate,
            "escalation_reasons": list(self.escalation_reasons),
            "message_checks": [c.to_dict() for c in self.message_checks],
            "timings_ms": {k: round(float(v), 2) for k, v in self.timings_ms.items()},
            "errors": list(self.errors),
            "evidence": [e.to_dict() for e in self.evidence],
            "answerable": self.answerable,
            "confidence": round(float(self.confidence), 4),
            "similar_replies": [d.to_dict() for d in self.similar],
        }


@dataclass
class SearchResult:
    """What retrieval found for one message: hits best first, the detected language, timings in ms, and the
    message's unit vector (None when only the keyword side ran) for scoring sentences against it."""

    hits: list[Hit]
    language: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    query_vector: Any = None


@dataclass
class CheckResult:
    """Every check on a reply a person wrote, and whether the message itself calls for a human."""

    checks: list[Check] = field(default_factory=list)
    escalate: bool = False
    escalation_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [c.to_dict() for c in self.checks], "escalate": self.escalate,
                "escalation_reasons": list(self.escalation_reasons)}
