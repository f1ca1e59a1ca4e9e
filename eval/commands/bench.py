"""`python -m eval bench`: generation speed per backend and thread count (the timing itself is eval.bench)."""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.settings import load_settings
from eval import bench as generation_bench
from eval.run import load_eval_set


@dataclass(frozen=True)
class BenchOptions:
    index: str
    backends: tuple[str, ...]  # e.g. ("llama.cpp", "transformers")
    threads: tuple[int, ...]
    cases: int  # messages per setting
    eval_set: str  # where the messages come from (built-in messages when the file is absent)


@dataclass(frozen=True)
class BenchReport:
    cases: int
    runs: list[dict[str, Any]]  # one row per backend × thread count (eval.bench.bench_one)
    table: str  # Markdown, README-ready
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        return self.table


def run_bench(options: BenchOptions) -> BenchReport:
    """Time every backend × thread count; progress lines go to stderr."""
    if not options.backends:
        raise UserError("--backends needs at least one backend, e.g. --backends llama.cpp")
    if options.cases < 1:
        raise UserError("--cases must be at least 1")
    settings = load_settings(options.index)
    cases = (load_eval_set(options.eval_set)[: options.cases] if Path(options.eval_set).is_file()
             else options.cases)
    result = generation_bench.run_bench(options.index, options.backends, options.threads, cases, settings,
                                        progress=lambda line: print(line, file=sys.stderr))
    return BenchReport(cases=result["cases"], runs=result["runs"], table=result["table"],
                       settings=result["settings"])
