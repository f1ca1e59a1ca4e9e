"""`python -m eval {run,compare,bitext,speed,bench,saved,calibrate,pii,checks,understand,redteam}`: score
retrieval, drafts, checks and speed.

This module only parses the command line: each command builds the frozen options of its module in
eval/commands/, runs it and prints the report as a table or, with --json, as one JSON object. The command
modules are imported when their command runs, so --help stays quick.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli import parse_today, run_main
from eval.report import parse_threads, print_report
from eval.run import COMPARE_FUSIONS
from suggest.fusion import FUSIONS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SET = REPO / "eval" / "sets" / "demo.jsonl"
DEFAULT_KNOWLEDGE = REPO / "data" / "demo-shop"
DEFAULT_DRAFTS = REPO / "eval" / "sets" / "drafts_labelled.jsonl"
DEFAULT_REDTEAM = REPO / "eval" / "sets" / "redteam" / "planted.jsonl"
DEFAULT_BITEXT = REPO.parent / "shared" / "data" / "bitext-2023-08"
BITEXT_CSV = "Bitext_Sample_Customer_Support_Training_Dataset.csv"

EPILOG = """examples:
  # retrieval only (fast): recall@1/@5, MRR@10, latency, overall and per language
  python -m eval run eval/sets/demo.jsonl --index var/demo-index --no-draft --today 2026-11-23
  # with drafts (loads the generator): adds must_mention, groundedness, style, escalation, speed
  python -m eval run eval/sets/demo.jsonl --index var/demo-index --today 2026-11-23 --json --save var/run.json
  # keyword-only vs dense-only vs hybrid on the demo shop (builds a temporary index)
  python -m eval compare --knowledge data/demo-shop --set eval/sets/demo.jsonl --today 2026-11-23
  # the public English Bitext set from ../shared/data (skipped when absent)
  python -m eval bitext
  # retrieval and build speed, 1 vs 2 threads, on the demo index and a synthetic 100k-passage index
  python -m eval speed --passages 100000
  # generation speed per backend and thread count
  python -m eval bench --index var/demo-index --backends llama.cpp,transformers --threads 1,2
  # the answerable confidence threshold on tune sets (vague and unanswerable messages included), heldout reported
  python -m eval calibrate --index var/demo-index --today 2026-11-23
  # personal-data masking rate on a synthetic set
  python -m eval pii
  # the draft checks on the labelled drafts: wrong drafts caught, false alarms, tune and heldout
  python -m eval checks
  # message signals (upset, escalation, instructions) on the held-out messages; retrain the model
  python -m eval understand
  python -m eval understand --retrain
  # planted instructions: detector flags, then replies that follow a plant (quick: --embed-model hash:256)
  python -m eval redteam --split all --today 2026-11-23

Settings come from the shop.yaml stored in the index (or the knowledge folder) and COPILOT_* environment
variables, e.g. COPILOT_EMBED_MODEL=hash:256 for a fake embedder in tests.
exit codes: 0 ok (also "skipped" when optional data is absent); 2 bad input (one line on stderr)."""


# ---------------------------------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from eval.commands.run import RunOptions, run_set

    options = RunOptions(eval_set=args.eval_set, index=args.index, today=parse_today(args.today),
                         draft=not args.no_draft, model=not args.no_model, split=args.split, fusion=args.fusion,
                         backend=args.backend, save=args.save, progress=not args.quiet)
    return print_report(run_set(options), args.json)


def cmd_compare(args: argparse.Namespace) -> int:
    from eval.commands.compare import CompareOptions, run_compare

    options = CompareOptions(knowledge=args.knowledge, eval_set=args.set, today=parse_today(args.today),
                             index=args.index, progress=not args.quiet)
    return print_report(run_compare(options), args.json)


def cmd_bitext(args: argparse.Namespace) -> int:
    from eval.commands.bitext import BitextOptions, run_bitext

    options = BitextOptions(csv=Path(args.data) / BITEXT_CSV, per_intent_index=args.per_intent_index,
                            queries_per_intent=args.queries_per_intent, seed=args.seed,
                            fusions=args.fusions, progress=not args.quiet)
    return print_report(run_bitext(options), args.json)


def cmd_speed(args: argparse.Namespace) -> int:
    from eval.commands.speed import SpeedOptions, run_speed

    options = SpeedOptions(knowledge=args.knowledge, eval_set=args.set, passages=args.passages,
                           dense_index=args.dense_index, threads=parse_threads(args.threads), repeat=args.repeat,
                           today=parse_today(args.today), index=args.index)
    return print_report(run_speed(options), args.json)


def cmd_bench(args: argparse.Namespace) -> int:
    from eval.commands.bench import BenchOptions, run_bench

    options = BenchOptions(index=args.index, backends=tuple(b.strip() for b in args.backends.split(",") if b.strip()),
                           threads=parse_threads(args.threads), cases=args.cases, eval_set=args.set)
    return print_report(run_bench(options), args.json)


def cmd_saved(args: argparse.Namespace) -> int:
    from eval.commands.saved import SavedOptions, run_saved

    options = SavedOptions(index=args.index, eval_set=args.set, today=parse_today(args.today))
    return print_report(run_saved(options), args.json)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from eval.commands.calibrate import DEFAULT_SETS, CalibrateOptions, run_calibrate

    options = CalibrateOptions(index=args.index, today=parse_today(args.today), sets=tuple(args.sets or DEFAULT_SETS),
                               fit=args.fit)
    return print_report(run_calibrate(options), args.json)


def cmd_understand(args: argparse.Namespace) -> int:
    from eval.commands.understand import UnderstandOptions, run_understand

    options = UnderstandOptions(retrain=args.retrain, knowledge=Path(args.knowledge) if args.knowledge else None,
                                feedback_db=Path(args.feedback_db) if args.feedback_db else None,
                                **({"model": Path(args.model)} if args.model else {}))
    return print_report(run_understand(options), args.json)


def cmd_pii(args: argparse.Namespace) -> int:
    from eval.commands.pii import PiiOptions, run_pii

    return run_pii(PiiOptions(n=args.n, seed=args.seed), args.json)


def cmd_checks(args: argparse.Namespace) -> int:
    from eval.commands.checks import ChecksEvalOptions, run_checks_eval

    options = ChecksEvalOptions(eval_set=Path(args.set), knowledge=Path(args.knowledge), show=args.show)
    return print_report(run_checks_eval(options), args.json)


def cmd_redteam(args: argparse.Namespace) -> int:
    from eval.commands.redteam import RedTeamOptions, retrain_detector, retrain_text, run_redteam

    if args.retrain:
        from core.planted import DEFAULT_MODEL_PATH

        model = retrain_detector(DEFAULT_MODEL_PATH, REPO / "var" / "cache" / "planted-units.npz")
        print(retrain_text(model, DEFAULT_MODEL_PATH))
        return 0
    options = RedTeamOptions(eval_set=args.set, knowledge=args.knowledge, today=parse_today(args.today),
                             split=args.split, embed_model=args.embed_model, model=args.model,
                             detector_only=args.detector_only, rules_only=args.rules_only,
                             progress=not args.quiet)
    return print_report(run_redteam(options), args.json)


# ---------------------------------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(prog="python -m eval", epilog=EPILOG, formatter_class=fmt,
                                 description="Benchmark the copilot: retrieval, drafts, checks and speed.")
    sub = ap.add_subparsers(dest="command", required=True,
                            metavar="{run,compare,bitext,speed,bench,saved,calibrate,pii,checks,understand,redteam}")

    r = sub.add_parser("run", help="score an eval set (DESIGN §4 metrics)", epilog=EPILOG, formatter_class=fmt,
                       description="Answer every case of EVAL_SET with the copilot and print the metrics.")
    r.add_argument("eval_set", metavar="EVAL_SET.jsonl", help="one JSON case a line (id, question, lang, "
                   "gold_sources, must_mention, must_not_mention, expect_escalation, ...)")
    r.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder built by python -m index build")
    r.add_argument("--json", action="store_true", help="print one JSON object (DESIGN §4 keys)")
    r.add_argument("--no-draft", action="store_true", help="retrieval and escalation only (no generator)")
    r.add_argument("--no-model", action="store_true", help="drafts without the model: composed, saved and "
                   "holding replies only")
    r.add_argument("--split", choices=("tune", "heldout"), help="only the cases of this split (a case without "
                   "a split is tune)")
    r.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    r.add_argument("--fusion", choices=FUSIONS, help="retrieval fusion (default from settings: rrf)")
    r.add_argument("--backend", help="generator backend for drafts: llama.cpp, transformers, openai, fake")
    r.add_argument("--save", metavar="RUN.json", help="also write the summary and per-case results here "
                   "(the app's evaluation view compares saved runs)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="keyword vs dense vs hybrid retrieval on one knowledge folder",
                       epilog=EPILOG, formatter_class=fmt,
                       description="Build one index and score retrieval for each fusion (keyword, dense, rrf, "
                                   "weighted), overall and per language.")
    c.add_argument("--knowledge", default=str(DEFAULT_KNOWLEDGE), metavar="DIR",
                   help="knowledge folder (default: the demo shop)")
    c.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="eval set (default: the demo set)")
    c.add_argument("--index", metavar="INDEX_DIR", help="build/update the index here and keep it "
                   "(default: a temporary folder)")
    c.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=cmd_compare)

    b = sub.add_parser("bitext", help="intent retrieval on the public English Bitext set (from ../shared/data)",
                       epilog=EPILOG, formatter_class=fmt,
                       description="Index part of each intent's responses as past replies, ask held-out "
                                   "instructions, score whether the top hit (and any of the top 5) has the same "
                                   "intent. Skipped (exit 0) when the data folder is absent.")
    b.add_argument("--data", default=str(DEFAULT_BITEXT), metavar="DIR",
                   help=f"folder holding {BITEXT_CSV} (default: ../shared/data/bitext-2023-08)")
    b.add_argument("--per-intent-index", type=int, default=20, metavar="N", help="rows indexed per intent (20)")
    b.add_argument("--queries-per-intent", type=int, default=20, metavar="N", help="held-out questions per intent (20)")
    b.add_argument("--seed", type=int, default=0, help="shuffle seed of the split (0)")
    b.add_argument("--fusions", type=lambda v: tuple(f for f in v.split(",") if f), default=COMPARE_FUSIONS,
                   metavar="LIST", help="fusions to score (keyword,dense,rrf,weighted)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=cmd_bitext)

    s = sub.add_parser("speed", help="retrieval and index-build speed, 1 vs 2 threads", epilog=EPILOG,
                       formatter_class=fmt,
                       description="(a) retrieval p50/p95 on the demo index including the query embedding; (b) the "
                                   "same on a synthetic N-passage index; (c) full-rebuild throughput of the demo "
                                   "shop in passages/s; each for every thread count.")
    s.add_argument("--knowledge", default=str(DEFAULT_KNOWLEDGE), metavar="DIR", help="knowledge folder to build")
    s.add_argument("--index", metavar="INDEX_DIR", help="time retrieval on this index (default: the one built here)")
    s.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="queries (default: the demo set)")
    s.add_argument("--passages", type=int, default=100_000, metavar="N",
                   help="size of the synthetic index (default 100000; 0 skips it)")
    s.add_argument("--dense-index", choices=("flat", "hnsw"), default="flat", help="FAISS index kind (flat)")
    s.add_argument("--threads", default="1,2", metavar="LIST", help="thread counts to compare (1,2)")
    s.add_argument("--repeat", type=int, default=2, metavar="N", help="passes over the queries per setting (2)")
    s.add_argument("--today", metavar="YYYY-MM-DD", help="day for validity windows (default: today)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_speed)

    g = sub.add_parser("bench", help="generation speed per backend and thread count", epilog=EPILOG,
                       formatter_class=fmt, description="Time to first token, tokens/s, draft time, peak memory.")
    g.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder")
    g.add_argument("--backends", default="llama.cpp", metavar="LIST", help="e.g. llama.cpp,transformers")
    g.add_argument("--threads", default="1,2", metavar="LIST", help="thread counts (1,2)")
    g.add_argument("--cases", type=int, default=10, metavar="N", help="messages per setting (10)")
    g.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="where the messages come from")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=cmd_bench)

    v = sub.add_parser("saved", help="calibrate the saved-reply threshold: coverage and precision",
                       epilog=EPILOG, formatter_class=fmt)
    v.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder")
    v.add_argument("--set", default=str(DEFAULT_SET), metavar="SET.jsonl", help="eval set (default: the demo set)")
    v.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=cmd_saved)

    a = sub.add_parser("calibrate", help="the answerable confidence threshold: tune vs heldout precision/recall",
                       epilog=EPILOG, formatter_class=fmt)
    a.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder")
    a.add_argument("--set", dest="sets", action="append", metavar="SET.jsonl",
                   help="eval set, repeatable (default: demo_unanswerable, vague, demo_correct, demo)")
    a.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")
    a.add_argument("--fit", action="store_true", help="refit the answerable gate on the tune splits first and write "
                   "suggest/answerable.json (deterministic)")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("pii", help="personal-data masking rate on a synthetic set", epilog=EPILOG,
                       formatter_class=fmt)
    p.add_argument("--n", type=int, default=500, help="synthetic messages (500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_pii)

    k = sub.add_parser("checks", help="draft checks on labelled drafts: wrong drafts caught, false alarms",
                       epilog=EPILOG, formatter_class=fmt)
    k.add_argument("--set", default=str(DEFAULT_DRAFTS), metavar="SET.jsonl",
                   help="labelled drafts (default: eval/sets/drafts_labelled.jsonl)")
    k.add_argument("--knowledge", default=str(DEFAULT_KNOWLEDGE), metavar="DIR", help="where shop.yaml is")
    k.add_argument("--show", action="store_true", help="also list the missed wrong drafts and the false alarms")
    k.add_argument("--json", action="store_true", help="print one JSON object")
    k.set_defaults(func=cmd_checks)

    u = sub.add_parser("understand", help="message signals (upset, escalation, instructions) on the held-out "
                       "messages; --retrain rebuilds the model", epilog=EPILOG, formatter_class=fmt,
                       description="Precision, recall and F1 per label and language on the held-out split of "
                                   "eval/sets/messages/ (word lists, classifier, combined) and a confusion table. "
                                   "--retrain rebuilds core/models/understand.json from the train split; with "
                                   "--knowledge, the shop's rules/examples.csv and agents' feedback join the "
                                   "training and the model is written to DIR/rules/understand.json only when it "
                                   "measures no worse.")
    u.add_argument("--retrain", action="store_true", help="retrain (deterministic) before reporting")
    u.add_argument("--model", metavar="MODEL.json", help="model file (default: core/models/understand.json)")
    u.add_argument("--knowledge", metavar="DIR", help="a shop's knowledge folder (with --retrain: teach it)")
    u.add_argument("--feedback-db", metavar="PATH", help="the app's feedback record (SQLite, read only)")
    u.add_argument("--json", action="store_true", help="print one JSON object")
    u.set_defaults(func=cmd_understand)
    t = sub.add_parser("redteam", help="planted instructions: flagged at index time, followed by replies?",
                       epilog=EPILOG, formatter_class=fmt,
                       description="Plant the rows of the red-team set into temporary copies of the knowledge "
                                   "folder, build, and count planted passages flagged and replies that repeat a "
                                   "plant; tune and held-out side by side.")
    t.add_argument("--set", default=str(DEFAULT_REDTEAM), metavar="PLANTED.jsonl",
                   help="red-team rows (default: eval/sets/redteam/planted.jsonl)")
    t.add_argument("--knowledge", default=str(DEFAULT_KNOWLEDGE), metavar="DIR",
                   help="knowledge folder the rows are planted into, copied first (default: the demo shop)")
    t.add_argument("--split", choices=("tune", "heldout", "all"), default="all", help="rows to run (all)")
    t.add_argument("--today", default="2026-11-23", metavar="YYYY-MM-DD",
                   help="judge validity windows on this day (default 2026-11-23, as the set expects)")
    t.add_argument("--embed-model", metavar="NAME", help="embedding model (default from settings; hash:256 is quick)")
    t.add_argument("--model", action="store_true", help="also the real model's draft (slow; default off)")
    t.add_argument("--detector-only", action="store_true", help="only the detector on the rows' text (seconds)")
    t.add_argument("--rules-only", action="store_true", help="the word lists without the learned detector")
    t.add_argument("--retrain", action="store_true",
                   help="retrain the learned detector (core/models/planted.json) and report its cross-validation")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    t.set_defaults(func=cmd_redteam)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(run_main(main))
