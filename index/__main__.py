"""`python -m index build KNOWLEDGE_DIR --index INDEX_DIR [--json]`, `python -m index info INDEX_DIR` and
`python -m index verify INDEX_DIR`."""
from __future__ import annotations

import argparse
import sys

from core.cli import EXIT_OK, EXIT_PARTIAL, print_json, run_main
from core.settings import load_settings
from index.build import build_index
from index.store import load_index
from index.verify import raise_if_damaged

EPILOG = """examples:
  python -m index build data/demo-shop --index var/demo-index
  python -m index build data/demo-shop --index var/demo-index --json   # summary as JSON
  python -m index info var/demo-index
  python -m index verify var/demo-index   # every checksum and row hash against the manifest

The first build embeds everything; later builds re-embed only passages whose text changed, drop deleted files
and swap the new index in atomically (a reader never sees a half-written index; a failed build leaves the old
one). A damaged or hand-edited index is healed by the next build: rows that no longer match their stored hash
are re-embedded. Settings come from KNOWLEDGE_DIR/shop.yaml (settings:) and COPILOT_* environment variables.
exit codes: 0 built; 1 built, but some files or rows had errors (listed); 2 nothing built (bad input)."""


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m index", description="Index a shop's knowledge folder.",
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, metavar="{build,info,verify}")
    b = sub.add_parser("build", help="build or update an index", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("knowledge_dir", metavar="KNOWLEDGE_DIR", help="folder of .md/.txt documents and .csv/.jsonl tables")
    b.add_argument("--index", required=True, metavar="INDEX_DIR", help="index folder to create or update")
    b.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    b.add_argument("--embed-model", help="embedding model: a local folder, a model id, or hash:DIM for tests")
    b.add_argument("--threads", type=int, help="torch threads for embedding (default from settings: 1)")
    i = sub.add_parser("info", help="show an index's manifest summary")
    i.add_argument("index_dir", metavar="INDEX_DIR")
    v = sub.add_parser("verify", help="check every index file and passage row against the manifest")
    v.add_argument("index_dir", metavar="INDEX_DIR")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "info":
        print_json(load_index(args.index_dir).manifest.summary())
        return EXIT_OK
    if args.command == "verify":
        manifest = raise_if_damaged(args.index_dir)
        print(f"{args.index_dir}: ok ({manifest.passages} passages, {len(manifest.index_files)} files match "
              "their checksums)")
        return EXIT_OK
    settings = load_settings(args.knowledge_dir, embed_model=args.embed_model, torch_threads=args.threads)
    summary = build_index(args.knowledge_dir, args.index, settings)
    for problem in summary.problems:
        print(problem, file=sys.stderr)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(f"indexed {summary.files} files, {summary.passages} passages ({summary.added} embedded, "
              f"{summary.reused} reused, {summary.removed} removed) in {summary.seconds:.1f}s -> {args.index}")
    return EXIT_PARTIAL if summary.errors else EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
