"""Split a Markdown/text document into passages by heading and paragraph, keeping the heading path as title."""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.language import split_sentences

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
TITLE_SEP = " › "


@dataclass
class Chunk:
    title: str
    text: str
    line: int  # 1-based line where the chunk starts


def _pack(pieces: list[str], max_chars: int, joiner: str) -> list[str]:
    """Greedily join pieces into groups of at most max_chars (a longer single piece stays whole)."""
    out: list[str] = []
    cur = ""
    for p in pieces:
        if cur and len(cur) + len(joiner) + len(p) > max_chars:
            out.append(cur)
            cur = p
        else:
            cur = f"{cur}{joiner}{p}" if cur else p
    if cur:
        out.append(cur)
    return out


def _cut(piece: str, max_chars: int) -> list[str]:
    """A piece longer than max_chars cut into parts of at most max_chars, at the last space where there is one
    in the second half of the window (a single 50 MB line must not become one passage).

    >>> _cut("aaaa bbbb cc", 6), _cut("x" * 5, 2)
    (['aaaa', 'bbbb', 'cc'], ['xx', 'xx', 'x'])
    """
    parts = []
    start = 0
    while len(piece) - start > max_chars:
        space = piece.rfind(" ", start + max_chars // 2, start + max_chars + 1)
        end = space if space > 0 else start + max_chars
        parts.append(piece[start:end].rstrip())
        start = end
        while start < len(piece) and piece[start] == " ":
            start += 1
    if start < len(piece):
        parts.append(piece[start:])
    return parts


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph as pieces of at most max_chars: whole sentences packed where they fit, long ones cut."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    joiner = "" if re.search(r"[\u4e00-\u9fff]", paragraph) else " "
    pieces = [part for _, _, s in split_sentences(paragraph) for part in _cut(s, max_chars)]
    return _pack(pieces, max_chars, joiner)


def chunk_document(text: str, max_chars: int = 400, doc_title: str = "", first_line: int = 1) -> list[Chunk]:
    """Chunks of a Markdown document: one section (heading path) at a time, paragraphs packed to max_chars.

    >>> [(c.title, c.text) for c in chunk_document("# Kettle\\n## Care\\nDescale monthly.\\n\\nDry it.", 400)]
    [('Kettle › Care', 'Descale monthly.\\n\\nDry it.')]
    """
    path: list[str] = [doc_title] if doc_title else []
    base_depth = 1 if doc_title else 0
    chunks: list[Chunk] = []
    para: list[str] = []
    paras: list[tuple[str, int]] = []
    para_line = first_line

    def end_paragraph() -> None:
        if para:
            paras.append(("\n".join(para).strip(), para_line))
            para.clear()

    def end_section() -> None:
        end_paragraph()
        title = TITLE_SEP.join(p for p in path if p)
        pieces: list[str] = []
        for p, _ in paras:
            pieces.extend(_split_long(p, max_chars))
        line = paras[0][1] if paras else first_line
        for group in _pack(pieces, max_chars, "\n\n"):
            chunks.append(Chunk(title=title, text=group, line=line))
        paras.clear()

    for offset, raw in enumerate(text.splitlines()):
        lineno = first_line + offset
        m = _HEADING.match(raw)
        if m:
            end_section()
            depth = len(m.group(1)) + base_depth
            del path[depth - 1:]
            path.extend([""] * (depth - 1 - len(path)))
            path.append(m.group(2).strip())
            continue
        if not raw.strip():
            end_paragraph()
            continue
        if not para:
            para_line = lineno
        para.append(raw.rstrip())
    end_section()
    return [c for c in chunks if c.text.strip()]
