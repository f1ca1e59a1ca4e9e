import pytest

from index.chunking import chunk_document
from core.language import split_sentences


@pytest.mark.parametrize("text, expected", [
    ("# A\nPara one.\n\nPara two.", [("A", "Para one.\n\nPara two.")]),
    ("# A\n## B\nx\n## C\ny", [("A › B", "x"), ("A › C", "y")]),
    ("# A\n## B\n### C\nx\n## D\ny", [("A › B › C", "x"), ("A › D", "y")]),
    ("no heading here", [("", "no heading here")]),
    ("# Only heading\n", []),
    ("# 配送\n## 运费\n满99元包邮。", [("配送 › 运费", "满99元包邮。")]),
])
def test_heading_paths_become_titles(text, expected):
    assert [(c.title, c.text) for c in chunk_document(text, 400)] == expected


def test_long_paragraph_split_at_sentence_ends_within_limit():
    para = "。".join(["这是一个很长的句子用来测试切分"] * 30) + "。"
    chunks = chunk_document("# T\n" + para, max_chars=100)
    assert len(chunks) > 1
    assert all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text for c in chunks) == para


def test_small_paragraphs_are_packed_and_line_numbers_kept():
    chunks = chunk_document("# T\n\nfirst\n\nsecond\n\n## U\nthird", max_chars=400, first_line=5)
    assert [(c.title, c.text, c.line) for c in chunks] == [("T", "first\n\nsecond", 7), ("T › U", "third", 12)]


@pytest.mark.parametrize("text, expected", [
    ("A. B? C!", ["A.", "B?", "C!"]),
    ("一。二！三？", ["一。", "二！", "三？"]),
    ("Price is 1.5 kg. Done", ["Price is 1.5 kg.", "Done"]),
])
def test_split_sentences(text, expected):
    assert [s for _, _, s in split_sentences(text)] == expected


@pytest.mark.parametrize("text, max_chars", [
    ("x" * 5000, 400),  # one line, no space, no sentence end
    ("word " * 2000, 400),
    ("字" * 5000, 300),
    ("# T\n" + "a" * 3000 + "\n\nshort", 400),
    ("Short. " + "y" * 999 + ". End.", 100),
])
def test_chunks_are_capped_even_without_sentence_ends(text, max_chars):
    chunks = chunk_document(text, max_chars)
    body = text.removeprefix("# T\n")
    assert chunks and all(len(c.text) <= max_chars for c in chunks)
    assert "".join("".join(c.text for c in chunks).split()) == "".join(body.split())


def test_long_words_are_cut_at_spaces_when_there_are_any():
    chunks = chunk_document("alpha " * 100, 50)
    assert all(c.text.split() == ["alpha"] * len(c.text.split()) for c in chunks)
