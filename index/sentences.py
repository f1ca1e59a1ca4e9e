"""Sentence vectors, computed when the index is built, so that evidence selection scores every sentence of the
retrieved passages against the message with one dot product instead of embedding them per message (the e5 model
takes tens of ms a sentence on these CPUs).

`sentences.npz` in the index folder holds, row by row, the passage id, the sentence and its unit vector (the
sentence embedded after its passage's title or question, see `sentence_context`), for the passages of several
sentences (a single sentence or a short stored answer is scored by the passage's own cosine). It is an optional extra: an
index without it (or with an unreadable one) still works, and the sentences are then embedded per message.

>>> evidence_sentences("Orders over ¥99 ship free; below ¥99 the fee is ¥8. - Remote regions excluded.")
['Orders over ¥99 ship free; below ¥99 the fee is ¥8.', '- Remote regions excluded.']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.language import split_sentences
from core.types import Passage

SENTENCES_FILE = "sentences.npz"
WHOLE_ANSWER_MAX_CHARS = 120  # a stored answer up to this long is one piece of evidence (longer ones mix facts)
STORED_ANSWER_KINDS = ("faq", "past_reply", "emergency")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.、)])\s+")


def evidence_sentences(text: str) -> list[str]:
    """The sentences of a passage, a clause ending in a semicolon kept with the next one (it states the other
    half of the same fact); a list mark alone is dropped."""
    out: list[str] = []
    glue = False
    for _, _, piece in split_sentences(text):
        if glue and out:
            out[-1] = out[-1] + (" " if piece[0].isascii() else "") + piece
        elif _LIST_MARK.sub("", piece).strip(" #*-"):
            out.append(piece)
        glue = piece.endswith((";", "；"))
    return out


def whole_passage(passage: Passage, sentences: list[str] | None = None) -> bool:
    """Whether a passage is one piece of evidence, scored by the retrieval cosine (no sentence vectors): a short
    stored answer, or a passage of a single sentence.

    >>> whole_passage(Passage("a", "f.csv", "Q", "Yes, ¥5.", kind="faq")), whole_passage(Passage("b", "d.md", "", "A. B."))
    (True, False)
    """
    if passage.kind in STORED_ANSWER_KINDS and len(passage.text.strip()) <= WHOLE_ANSWER_MAX_CHARS:
        return True
    return len(sentences if sentences is not None else evidence_sentences(passage.text)) <= 1


def sentence_context(passage: Passage, sentence: str) -> str:
    """What is embedded for a sentence: its passage's question or title, then the sentence."""
    head = passage.question or passage.title
    return f"{head}: {sentence}" if head else sentence


@dataclass
class SentenceStore:
    """Unit vectors of passage sentences, looked up by (passage id, sentence)."""

    ids: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    _row: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._row = {(i, s): r for r, (i, s) in enumerate(zip(self.ids, self.sentences))}

    def __len__(self) -> int:
        return len(self.ids)

    def vector(self, passage_id: str, sentence: str) -> np.ndarray | None:
        row = self._row.get((passage_id, sentence))
        return None if row is None else self.vectors[row]

    def save(self, folder: Path) -> None:
        np.savez(folder / SENTENCES_FILE, ids=np.array(self.ids, dtype=str),
                 sentences=np.array(self.sentences, dtype=str), vectors=self.vectors)

    @classmethod
    def load(cls, folder: str | Path) -> "SentenceStore | None":
        """The store of an index folder; None when it has none or it cannot be read (then sentences are embedded
        per message)."""
        path = Path(folder) / SENTENCES_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                store = cls(z["ids"].tolist(), z["sentences"].tolist(), z["vectors"].astype(np.float32))
        except (OSError, ValueError, KeyError):
            return None
        return store if len(store.vectors) == len(store.ids) == len(store.sentences) else None


def build_sentence_store(passages: Sequence[Passage], encode: Callable[[list[str]], np.ndarray], dim: int,
                         previous: SentenceStore | None = None, batch: int = 64) -> SentenceStore:
    """Every sentence of the passages that are not evidence whole, with its vector; a sentence of an unchanged
    passage keeps its old vector."""
    ids: list[str] = []
    sentences: list[str] = []
    for p in passages:
        split = evidence_sentences(p.text)
        if not whole_passage(p, split):
            ids.extend([p.id] * len(split))
            sentences.extend(split)
    vectors = np.zeros((len(ids), dim), dtype=np.float32)
    todo = []
    for row, (pid, s) in enumerate(zip(ids, sentences)):
        old = previous.vector(pid, s) if previous is not None else None
        if old is not None and len(old) == dim:
            vectors[row] = old
        else:
            todo.append(row)
    by_id = {p.id: p for p in passages}
    for start in range(0, len(todo), batch):
        rows = todo[start:start + batch]
        vectors[rows] = encode([sentence_context(by_id[ids[r]], sentences[r]) for r in rows])
    return SentenceStore(ids, sentences, vectors)
