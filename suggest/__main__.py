"""`python -m suggest "MESSAGE" --index DIR [--json] [--no-draft] [--stream]` and
`python -m suggest check --message M --draft D --index DIR [--json]`."""
from __future__ import annotations

import argparse
import sys

from core.cli import EXIT_OK, parse_today, print_json, run_main
from core.settings import load_settings
from core.types import CheckResult, Suggestion

EPILOG = """examples:
  python -m suggest "满多少包邮？" --index var/demo-index
  python -m suggest "Can I return the kettle?" --index var/demo-index --json
  python -m suggest "双11快递会慢吗" --index var/demo-index --json --no-draft --today 2026-11-23
  python -m suggest "Where is my parcel?" --index var/demo-index --stream
  python -m suggest check --message "你们太慢了！" --draft "保证明天到！" --index var/demo-index --json

The message limit is max_message_chars (default 2000). Settings come from the shop.yaml stored in the index
and COPILOT_* environment variables (e.g. COPILOT_BACKEND=openai COPILOT_BASE_URL=http://127.0.0.1:8000).
exit codes: 0 ok (also when the draft failed but retrieval worked: see "errors"); 2 bad input."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder built by python -m index build")
    p.add_argument("--json", action="store_true", help="print one JSON object (DESIGN §4 shape)")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="judge validity windows on this day (default: today)")


def _suggest_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m suggest", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 description="Suggest a reply to a customer message (or `check` a written one).")
    ap.add_argument("message", metavar="MESSAGE", help="the customer's message (Chinese or English)")
    _common(ap)
    ap.add_argument("--no-draft", action="store_true", help="stop after retrieval (fast path for scripts)")
    ap.add_argument("--stream", action="store_true", help="print the model's tokens as they come")
    ap.add_argument("--backend", help="generator backend: llama.cpp (default), transformers, openai, fake")
    ap.add_argument("--model", help="a .gguf file, a local Hugging Face folder or a model id")
    ap.add_argument("--threads", type=int, help="generator threads (default 1: fastest on 2-core machines)")
    ap.add_argument("--base-url", help="OpenAI-compatible server for --backend openai")
    ap.add_argument("--api-model", help="model name sent to the OpenAI-compatible server")
    ap.add_argument("-k", "--top-k", type=int, help="number of passages to return (default 5)")
    return ap


def _check_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m suggest check", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 description="Run every check on a reply a person wrote.")
    ap.add_argument("--message", required=True, help="the customer's message")
    ap.add_argument("--draft", required=True, help="the reply to check")
    _common(ap)
    return ap


def _print_human(sug: Suggestion, streamed: bool) -> None:
    print(f"language: {sug.language}   escalate: {sug.escalate}"
          + (f" ({'; '.join(sug.escalation_reasons)})" if sug.escalation_reasons else ""))
    for i, h in enumerate(sug.hits, 1):
        pin = " [pinned]" if h.pinned else ""
        print(f"  [{i}] {h.score:.4f} {h.passage.kind:<10} {h.passage.source} — {h.passage.title}{pin}")
    for d in sug.drafts:
        if not (streamed and d.origin == "model"):
            print(f"\n--- {d.origin} draft ---\n{d.text}")
        if d.citations:
            print(f"citations: {', '.join(d.citations)}")
        for c in d.checks:
            print(f"  {c.severity}: {c.name}: {c.message}")
    for e in sug.errors:
        print(f"error: {e}", file=sys.stderr)
    print("timings_ms: " + ", ".join(f"{k}={v:.0f}" for k, v in sug.timings_ms.items()))


def _print_checks(result: CheckResult) -> None:
    for c in result.checks:
        print(f"{c.severity}: {c.name}: {c.message}" + (f"  «{c.span}»" if c.span else ""))
    reasons = result.escalation_reasons
    print(f"escalate: {result.escalate}" + (f" ({'; '.join(reasons)})" if reasons else ""))
    if not result.checks:
        print("no problems found")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from suggest.pipeline import Copilot  # heavy imports after --help

    if argv[:1] == ["check"]:
        args = _check_parser().parse_args(argv[1:])
        copilot = Copilot.open(args.index)
        result = copilot.check(args.message, args.draft, today=parse_today(args.today))
        if args.json:
            print_json(result.to_dict())
        else:
            _print_checks(result)
        return EXIT_OK
    args = _suggest_parser().parse_args(argv)
    settings = load_settings(args.index, backend=args.backend, model=args.model, llm_threads=args.threads,
                             base_url=args.base_url, api_model=args.api_model, top_k=args.top_k)
    copilot = Copilot.open(args.index, settings)
    today = parse_today(args.today)
    streaming = args.stream and not args.json and not args.no_draft

    def on_token(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    if streaming:
        print("--- model draft (streaming) ---")
    sug = copilot.suggest(args.message, today=today, draft=not args.no_draft,
                          on_token=on_token if streaming else None)
    if streaming:
        print()
    if args.json:
        print_json(sug.to_dict())
    else:
        _print_human(sug, streaming)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
