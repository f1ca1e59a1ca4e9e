"""Query synonyms: the words customers ask with and the words shops write with, grouped.

"龙井多少钱一罐" shares no word with a product page's "售价"; a group `多少钱 = 价格 = 售价` lets the keyword side
find it. Only queries are expanded (the index stays as written).

File format (the bundled `index/synonyms.txt`, and a shop's own `rules/synonyms.txt` in its knowledge folder,
whose groups are added to the bundled ones — `rules/` is not indexed as knowledge and is copied into the index
folder with the other shop word lists):

    # a comment line
    多少钱 = 价格 = 售价 = 价钱
    how much = price = cost

UTF-8, one group per line, members separated by "=", blank lines ignored. A member may be a phrase; it matches
when its words appear one after another in the question (cut by the same tokenizer as the question).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from core.errors import UserError
from core.language import is_cjk

SYNONYMS_FILE = "synonyms.txt"
DEFAULT_FILE = Path(__file__).with_name(SYNONYMS_FILE)
STOP_MARK = "\x00"  # prefix of a stop word in a token stream: matched, never searched


@dataclass(frozen=True)
class Synonyms:
    """Groups of interchangeable words or phrases (hashable, so tokenized forms can be cached per set)."""

    groups: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def parse(cls, text: str, where: str = "synonyms") -> "Synonyms":
        """Groups from the file format above; a line with fewer than two members is a UserError naming it.

        >>> Synonyms.parse("# prices\\n多少钱 = 价格\\n\\n how much= price =cost ").groups
        (('多少钱', '价格'), ('how much', 'price', 'cost'))
        """
        groups = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            members = tuple(dict.fromkeys(m.strip() for m in line.split("=") if m.strip()))
            if len(members) < 2:
                raise UserError(f"{where}:{n}: a synonym group needs two or more members separated by '=', "
                                f"e.g. 多少钱 = 价格; got {line!r}")
            groups.append(members)
        return cls(tuple(groups))

    def __add__(self, other: "Synonyms") -> "Synonyms":
        return Synonyms(self.groups + other.groups)


def _read(path: Path) -> Synonyms:
    try:
        return Synonyms.parse(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start}); save the synonyms file as UTF-8") from None


@lru_cache(maxsize=8)
def _load_cached(extra: str, mtime_ns: int) -> Synonyms:
    bundled = _read(DEFAULT_FILE)
    return bundled + _read(Path(extra)) if extra else bundled


def load_synonyms(rules_dir: str | Path | None = None) -> Synonyms:
    """The bundled groups plus those of `rules_dir/synonyms.txt` when it exists (cached until the file changes)."""
    extra = Path(rules_dir) / SYNONYMS_FILE if rules_dir else None
    if extra is None or not extra.is_file():
        return _load_cached("", 0)
    return _load_cached(str(extra), extra.stat().st_mtime_ns)


def _contains(tokens: Sequence[str], member: Sequence[str], cjk_text: str) -> bool:
    """A Chinese member matches anywhere in the question's Chinese text (jieba may cut it differently in
    context: 没收到 vs 没收 + 到货); another member matches its words one after another."""
    if all(is_cjk(t.lstrip(STOP_MARK)[:1]) for t in member):
        return "".join(t.lstrip(STOP_MARK) for t in member) in cjk_text
    n = len(member)
    return any(tuple(tokens[i:i + n]) == tuple(member) for i in range(len(tokens) - n + 1))


def expand_query(tokens: Sequence[str], groups: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    """`tokens` followed by the other members of every group one of whose members occurs in them.

    A member is a token sequence; stop words (STOP_MARK-prefixed) take part in matching. Only members of one
    content word are added: a phrase like "send back" or 哪里 + 产 triggers its group, but its separate words
    ("back", 哪里) would match unrelated passages. Nothing is added twice.

    >>> many = STOP_MARK + "多少"  # a stop word
    >>> groups = [[(many, "钱"), ("售价",), ("价格",)], [("产地",), ("哪里", "产")], [("没", "收到"), ("延迟",)]]
    >>> expand_query(["龙井", many, "钱"], groups)[3:]
    ['售价', '价格']
    >>> expand_query(["还", "没收", "到货"], groups), expand_query(["产地"], groups)
    (['还', '没收', '到货', '延迟'], ['产地'])
    """
    out = list(tokens)
    seen = set(out)
    cjk_text = "".join(t.lstrip(STOP_MARK) for t in tokens if is_cjk(t.lstrip(STOP_MARK)[:1]))
    for group in groups:
        if not any(_contains(tokens, member, cjk_text) for member in group):
            continue
        for member in group:
            words = [t for t in member if not t.startswith(STOP_MARK)]
            if len(words) == 1 and words[0] not in seen:  # phrases only trigger: their single words are too vague
                seen.add(words[0])
                out.append(words[0])
    return out
