from pathlib import Path

import pytest

from core.errors import KnowledgeError
from index.loaders import list_files, load_file, load_table, split_front_matter


def write(root: Path, rel: str, text: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def test_markdown_with_front_matter(tmp_path):
    p = write(tmp_path, "promo.en.md", "---\nkind: emergency\nkeywords: [sale, promo]\nvalid_until: 2026-12-01\n"
                                       "---\n# Promo\nTen percent off.\n")
    loaded = load_file(tmp_path, p, 400)
    assert not loaded.problems
    [ps] = loaded.passages
    assert (ps.kind, ps.keywords, ps.valid_until, ps.title, ps.text, ps.line, ps.lang) == (
        "emergency", ["sale", "promo"], "2026-12-01", "Promo", "Ten percent off.", 7, "en")
    assert ps.source == "promo.en.md"


def test_txt_without_heading_takes_file_name_as_title(tmp_path):
    p = write(tmp_path, "care-guide.txt", "Wash at 30 degrees.")
    [ps] = load_file(tmp_path, p, 400).passages
    assert ps.title == "care guide"


@pytest.mark.parametrize("name, text", [
    ("faq.csv", "question,answer,kind,keywords\n包邮吗？,满99元包邮。,faq,包邮;运费\n"),
    ("faq.csv", "Question,Reply\n包邮吗？,满99元包邮。\n"),  # alias `reply`, header case ignored
    ("faq.jsonl", '{"question": "包邮吗？", "answer": "满99元包邮。", "keywords": "包邮;运费"}\n'),
])
def test_tables(tmp_path, name, text):
    p = write(tmp_path, name, text)
    loaded = load_file(tmp_path, p, 400)
    assert not loaded.problems
    [ps] = loaded.passages
    assert (ps.question, ps.text, ps.kind, ps.lang) == ("包邮吗？", "满99元包邮。", "faq", "zh")


def test_ids_are_stable_and_change_with_text(tmp_path):
    p = write(tmp_path, "faq.csv", "question,answer\nQ,A\n")
    first = load_file(tmp_path, p, 400).passages[0].id
    assert load_file(tmp_path, p, 400).passages[0].id == first
    write(tmp_path, "faq.csv", "question,answer\nQ,A changed\n")
    assert load_file(tmp_path, p, 400).passages[0].id != first


@pytest.mark.parametrize("name, text, expected_problem", [
    ("bad.csv", "title,body\nx,y\n", "needs a 'question' column and an 'answer'"),
    ("bad.md", b"# T\n\xff\xfe broken", "cannot decode as UTF-8"),
    ("bad.md", "---\nkind: faq\nno end", "no closing '---'"),
    ("bad.md", "---\nkind: banana\n---\ntext", "unknown kind 'banana'"),
])
def test_broken_files_report_file_level_problem(tmp_path, name, text, expected_problem):
    loaded = load_file(tmp_path, write(tmp_path, name, text), 400)
    assert loaded.failed and not loaded.passages
    assert expected_problem in loaded.problems[0].message


@pytest.mark.parametrize("row, message", [
    ("Q,A,faq,,2026-13-01,", "bad date '2026-13-01' in valid_from (use YYYY-MM-DD)"),
    ("Q,A,faq,,2026-12-01,2026-11-01", "valid_from 2026-12-01 is after valid_until 2026-11-01"),
    ("Q,A,emergency,,,", "an emergency entry needs keywords"),
    (",A,faq,,,", "empty question or answer"),
])
def test_bad_rows_are_skipped_with_line_numbers_and_others_kept(row, message):
    text = f"question,answer,kind,keywords,valid_from,valid_until\nOK?,Fine.,faq,,,\n{row}\n"
    passages, problems = load_table("t.csv", text)
    assert [p.question for p in passages] == ["OK?"]
    [problem] = problems
    assert problem.line == 3 and message in problem.message


def test_list_files_skips_unsupported_and_config(tmp_path):
    for rel in ("a.md", "b.csv", "c.pdf", "shop.yaml", "rules/servile.txt", ".git/x.md", "sub/d.jsonl"):
        write(tmp_path, rel, "x")
    files, warnings = list_files(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a.md", "b.csv", "sub/d.jsonl"]
    assert [(w.source, w.level) for w in warnings] == [("c.pdf", "warning")]
    assert "unsupported file type '.pdf'" in warnings[0].message


def test_front_matter_must_be_mapping():
    with pytest.raises(KnowledgeError, match="mapping"):
        split_front_matter("---\n- a\n- b\n---\nbody")


@pytest.mark.parametrize("name, text, kept, problems", [
    # JSONL: a bad line costs that row only
    ("t.jsonl", '{"question": "A?", "answer": "a"}\n{broken\n{"question": "B?", "answer": "b"}\n',
     [("A?", 1), ("B?", 3)], [(2, "invalid JSON")]),
    ("t.jsonl", '{"question": "A?", "answer": "a"}\n["a list"]\n\n{"question": "B?", "answer": "b"}\n',
     [("A?", 1), ("B?", 4)], [(2, "must be a JSON object")]),
    # CSV: an unclosed quote is reported at its own line; the rows after it are still read
    ("t.csv", 'question,answer\nA?,a\n"Broken,oops\nB?,b\nC?,c\n', [("A?", 2), ("B?", 4), ("C?", 5)],
     [(3, "unclosed quote")]),
    ("t.csv", 'question,answer\nA?,a\nX,"unclosed\nB?,b\nC?,"c"\n', [("A?", 2), ("B?", 4), ("C?", 5)],
     [(3, "unclosed quote")]),
    ("t.csv", 'question,answer\nA?,a\nX,"unclosed\nB?,"b"\nC?,c\n', [("A?", 2), ("B?", 4), ("C?", 5)],
     [(3, "unclosed quote")]),
    ("t.csv", 'question,answer\nA?,a\nB?,"b', [("A?", 2)], [(3, "unclosed quote")]),
    # a quoted field over several lines and a sloppy but balanced quote are fine; a row keeps its first line
    ("t.csv", 'question,answer\nA?,"two\nlines"\nB?,"b" more\nC?,c\n', [("A?", 2), ("B?", 4), ("C?", 5)], []),
])
def test_a_bad_row_costs_only_that_row(name, text, kept, problems):
    passages, found = load_table(name, text)
    assert [(p.question, p.line) for p in passages] == kept
    assert [(p.line, p.source) for p in found] == [(line, name) for line, _ in problems]
    assert all(want in p.message for p, (_, want) in zip(found, problems))


def test_multi_line_answer_is_kept_whole():
    [p], _ = load_table("t.csv", 'question,answer\nA?,"two\nlines"\n')
    assert p.text == "two\nlines"


def test_file_over_the_size_limit_is_refused_naming_size_and_setting(tmp_path):
    p = write(tmp_path, "big.txt", "word " * 600)
    loaded = load_file(tmp_path, p, 400, max_bytes=1000)
    assert loaded.failed and not loaded.passages
    assert str(loaded.problems[0]) == ("error: big.txt: the file is 3.0 kB, over the max_file_bytes limit of "
                                       "1.0 kB; split it, or raise max_file_bytes in shop.yaml (settings:)")


@pytest.mark.parametrize("name, data", [
    ("nul.md", b"\x00" * 20_000),
    ("utf16.txt", "退货政策".encode("utf-16")),
    ("controls.txt", b"text " + bytes(range(1, 9)) * 10),
])
def test_binary_content_is_refused(tmp_path, name, data):
    loaded = load_file(tmp_path, write(tmp_path, name, data), 400)
    assert loaded.failed and not loaded.passages
    assert "binary" in loaded.problems[0].message


def test_a_few_control_characters_are_still_text(tmp_path):
    [ps] = load_file(tmp_path, write(tmp_path, "ok.txt", "Tab\there, escape \x1b[1mbold\x1b[0m."), 400).passages
    assert ps.text == "Tab\there, escape \x1b[1mbold\x1b[0m."
