"""Many agents at once: does every agent get its first draft quickly while the model serves them one by one?

    python -m eval.concurrency --index var/demo-index --agents 10 --rounds 3 --token-ms 30

Each round, `--agents` threads ask one message each at the same moment; the generator is a stand-in for the
local model that serves one request at a time (a lock) and spends `--token-ms` per streamed piece. Reported:
ms to each agent's first draft (the composed or check-back reply) and to its model draft, p50 / p95. The target
is a first draft within 300 ms p95 with 10 agents (issue 10).
"""
from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

from core.cli import parse_today, print_json, run_main
from core.events import DraftEvent
from eval.metrics import percentiles
from eval.run import load_eval_set
from suggest.backends import FakeGenerator
from suggest.pipeline import Copilot

DEFAULT_SET = "eval/sets/demo_correct.jsonl"


class SerialGenerator(FakeGenerator):
    """The fake generator behind one lock, `token_s` per piece: like one local model serving every agent."""

    def __init__(self, token_s: float) -> None:
        super().__init__(["We will check this and get back to you shortly, thank you for waiting [1]."])
        self.token_s = token_s
        self.lock = threading.Lock()

    def stream(self, messages: Any, **kw: Any) -> Iterator[str]:
        with self.lock:
            for piece in super().stream(messages, **kw):
                time.sleep(self.token_s)
                yield piece


@dataclass(frozen=True)
class AgentTiming:
    first_draft_ms: float
    model_draft_ms: float | None


def one_agent(copilot: Copilot, message: str, today: date, start: threading.Barrier) -> AgentTiming:
    start.wait()
    t0 = time.perf_counter()
    first = model = None
    for event in copilot.run(message, today=today):
        if isinstance(event, DraftEvent):
            ms = (time.perf_counter() - t0) * 1000
            first = ms if first is None else first
            model = ms if event.draft.origin == "model" else model
    return AgentTiming(first if first is not None else float("nan"), model)


def measure(copilot: Copilot, messages: list[str], agents: int, rounds: int, today: date) -> dict[str, Any]:
    """First-draft and model-draft times of every agent in every round."""
    timings: list[AgentTiming] = []
    for r in range(rounds):
        start = threading.Barrier(agents)
        out: list[AgentTiming] = []
        batch = [messages[(r * agents + i) % len(messages)] for i in range(agents)]
        threads = [threading.Thread(target=lambda m=m: out.append(one_agent(copilot, m, today, start)))
                   for m in batch]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        timings.extend(out)
    return {"agents": agents, "rounds": rounds, "requests": len(timings),
            "first_draft_ms": percentiles([t.first_draft_ms for t in timings]),
            "model_draft_ms": percentiles([t.model_draft_ms for t in timings if t.model_draft_ms is not None])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.concurrency", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder")
    ap.add_argument("--set", default=DEFAULT_SET, metavar="SET.jsonl", help="where the messages come from")
    ap.add_argument("--agents", type=int, default=10, help="agents asking at once (10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    ap.add_argument("--token-ms", type=float, default=30.0, help="the stand-in model's time per piece (30)")
    ap.add_argument("--today", metavar="YYYY-MM-DD", help="day for validity windows (default: today)")
    args = ap.parse_args(argv)
    messages = [c["question"] for c in load_eval_set(args.set)]
    copilot = Copilot.open(args.index, generator=SerialGenerator(args.token_ms / 1000))
    copilot.suggest(messages[0], today=parse_today(args.today), model=False)  # warm-up: embedder, jieba
    print_json(measure(copilot, messages, args.agents, args.rounds, parse_today(args.today)))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
