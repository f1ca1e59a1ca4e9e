"""The agent's desk: `python app.py` serves three views on one local Gradio server.

- **Agent desk**: message (+ earlier turns) → the saved reply at once and the model draft streaming, each with
  its citations linked to the source passages and its warnings under the sentence they concern; an escalation
  banner; an editable reply; Accept (records feedback and copies the text), Regenerate, Reject with a reason.
- **Knowledge**: sources with counts and indexing state, upload/remove files, FAQ and emergency entries,
  re-index with progress (agents keep the previous index meanwhile), passage browser, expired and flagged entries.
- **Evaluation**: run an eval set, metrics table, recall@k chart, latency histogram, compare with a saved run.
- **Feedback**: the record of accepted/rejected replies, CSV/JSONL export, promote a reply into the knowledge.

The main action is also the API endpoint `/suggest` (message, history) → Suggestion dict (DESIGN §4);
`/feedback` records what an agent sent and `/promote` turns an accepted reply into a past good reply:

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    sug = client.predict("满多少包邮？", "", api_name="/suggest")
    client.predict("满多少包邮？", sug["drafts"][-1]["text"], "accepted", api_name="/feedback")

Run `python app.py --help` for the options (each also has a COPILOT_* environment variable).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any, Callable, Sequence

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline machines: no telemetry calls

import gradio as gr  # noqa: E402

from app_parts.admin_views import eval_view, feedback_view, knowledge_view  # noqa: E402
from app_parts.agent_view import agent_view  # noqa: E402
from app_parts.render import esc  # noqa: E402
from app_parts.service import CopilotService  # noqa: E402
from app_parts.texts import t  # noqa: E402
from app_parts.ui import CSS, HEAD, LIGHT, Labels, err  # noqa: E402
from core.errors import UserError  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_KNOWLEDGE = ROOT / "data" / "demo-shop"
DEFAULT_INDEX = ROOT / "var" / "demo-index"
DEFAULT_FEEDBACK = ROOT / "var" / "feedback.sqlite3"
DEFAULT_EVAL_SETS = ROOT / "eval" / "sets"
DEFAULT_EVAL_RUNS = ROOT / "var" / "eval-runs"
MAX_UPLOAD = "2mb"  # Gradio refuses bigger uploads before they reach a handler
FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "PingFang SC", "Microsoft YaHei",
         "Noto Sans CJK SC", "sans-serif"]  # local fonts only: the page must not fetch anything


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=FONTS,
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


# ------------------------------------------------------------------------------------------------------ app
def create_app(service: CopilotService | None = None, *, knowledge_dir: str | Path = DEFAULT_KNOWLEDGE,
               index_dir: str | Path = DEFAULT_INDEX, settings: Settings | None = None,
               feedback_db: str | Path = DEFAULT_FEEDBACK, generator: Any = None, embedder: Any = None,
               today: date | None = None, eval_sets_dir: str | Path = DEFAULT_EVAL_SETS,
               eval_runs_dir: str | Path = DEFAULT_EVAL_RUNS, concurrency: int = 2, queue_size: int = 16,
               build_progress: Callable[[int, int, str], None] | None = None) -> gr.Blocks:
    """The Gradio Blocks of the app (not launched). Builds the index first when there is none.

    `service` may be given ready-made; otherwise one is made from the paths. The Blocks carry it as
    `.service` (tests use it to wait for background re-indexing)."""
    if service is None:
        settings = settings or load_settings(knowledge_dir)
        service = CopilotService(knowledge_dir=knowledge_dir, index_dir=index_dir, settings=settings,
                                 feedback_db=feedback_db, generator=generator, embedder=embedder, today=today,
                                 eval_sets_dir=eval_sets_dir, eval_runs_dir=eval_runs_dir)
    service.ensure_index(build_progress)
    copilot = service.copilot
    shop = copilot.shop

    def api_suggest(message: str, history: str = "") -> dict:
        """Suggest a reply. `message`: the customer's message; `history`: earlier turns, one a line
        ("customer: …" / "agent: …") or a JSON list of {"role", "content"}. Returns the Suggestion object
        (language, hits, drafts with citations and checks, escalate, escalation_reasons, timings_ms, errors)."""
        try:
            return service.suggest(message, history)
        except UserError as e:
            raise err(e) from None

    def api_feedback(message: str, final_text: str = "", status: str = "accepted", reason: str = "",
                     draft_text: str = "", suggestion: dict | None = None, history: str = "") -> dict:
        """Record what an agent did with a suggestion (for helpdesks that show the drafts themselves).
        `status` is "accepted" (with the `final_text` sent) or "rejected" (with a `reason`); `suggestion` is the
        object /suggest returned. Personal data is masked before storing. Returns {"id", "edit_distance"}."""
        try:
            return service.record_external(message=message, final_text=final_text, status=status, reason=reason,
                                           draft_text=draft_text, suggestion=suggestion, history=history)
        except UserError as e:
            raise err(e) from None

    def api_promote(record_id: int, question: str = "", answer: str = "", keywords: str = "") -> dict:
        """Promote accepted feedback record `record_id` to a past good reply (faq/promoted_replies.csv);
        `question`/`answer` default to the recorded (masked) message and final text. The index updates in the
        background. Returns the added row."""
        try:
            r = service.feedback.get(int(record_id))
            return service.promote(int(record_id), question or r["message"], answer or r["final_text"], keywords)
        except UserError as e:
            raise err(e) from None

    labels = Labels()
    with gr.Blocks(title=f"{shop.name} · Reply copilot", analytics_enabled=False) as demo:
        gr.HTML(f'<div id="app-header"><h1>{t("en", "title")} · {t("zh", "title")}</h1>'
                f'<span class="sub">{esc(shop.name)} / {esc(shop.name_zh)} · local, offline</span></div>')
        with gr.Tabs(elem_id="views"):
            with labels.make(gr.Tab, {"label": "tab_agent"}, id="agent", elem_id="tab-agent") as a_tab:
                desk = agent_view(service, concurrency, labels)
            with labels.make(gr.Tab, {"label": "tab_knowledge"}, id="knowledge", elem_id="tab-knowledge") as k_tab:
                k_loaders = knowledge_view(service, labels)
            with labels.make(gr.Tab, {"label": "tab_eval"}, id="eval", elem_id="tab-eval") as e_tab:
                e_loaders = eval_view(service, concurrency, labels)
            with labels.make(gr.Tab, {"label": "tab_feedback"}, id="feedback", elem_id="tab-feedback") as f_tab:
                f_loaders = feedback_view(service, labels)
        gr.api(api_suggest, api_name="suggest", concurrency_id="model", concurrency_limit=concurrency)
        gr.api(api_feedback, api_name="feedback", concurrency_id="light", concurrency_limit=4)
        gr.api(api_promote, api_name="promote", concurrency_id="light", concurrency_limit=4)
        for tab, loaders in ((a_tab, desk.loaders), (k_tab, k_loaders), (e_tab, e_loaders), (f_tab, f_loaders)):
            for fn, inputs, outputs in loaders:  # fill the tables when the page opens and when a view is shown
                demo.load(fn, inputs, outputs, **LIGHT)
                tab.select(fn, inputs, outputs, **LIGHT)

        def relabel(*language_inputs: Any) -> list[Any]:
            return labels.updates(desk.language(*language_inputs))

        for trigger in desk.relabel_on:  # every text on the page follows the switch or the message's language
            trigger(relabel, desk.language_inputs, labels.components, api_visibility="private", queue=False)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    demo.service = service  # type: ignore[attr-defined]
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Serve the app. Only Gradio's own upload/cache folders are served (no extra allowed_paths); the
    knowledge, index and feedback locations are blocked outright."""
    service: CopilotService = demo.service  # type: ignore[attr-defined]
    blocked = [str(Path(p).resolve()) for p in (service.knowledge_dir, service.index_dir, service.feedback.path)]
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=prevent_thread_lock,
                       quiet=quiet, share=False, inbrowser=False, show_error=False, max_file_size=MAX_UPLOAD,
                       allowed_paths=[], blocked_paths=blocked, ssr_mode=False, footer_links=["api"],
                       theme=theme(), css=CSS, head=HEAD, mcp_server=False)


# ------------------------------------------------------------------------------------------------------ CLI
class TerminalProgress:
    """A tqdm bar per build stage on stderr (for the first start)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.what = ""

    def __call__(self, done: int, total: int, what: str) -> None:
        from tqdm import tqdm

        if what != self.what or self.bar is None:
            self.close()
            self.what = what
            self.bar = tqdm(total=max(total, 1), desc=what, file=sys.stderr, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}]")
        self.bar.n = min(done, self.bar.total)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        raise UserError(f"{name}={value!r} is not a whole number") from None


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    ap = argparse.ArgumentParser(
        prog="python app.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The agent's desk: reply suggestions, knowledge maintenance and evaluation in the browser.",
        epilog="examples:\n  python app.py                                  # the bundled demo shop on "
               "http://127.0.0.1:7860\n  python app.py --knowledge my-shop --index var/my-index\n"
               "  python app.py --host 0.0.0.0 --auth agent:secret  # reachable from the shop's network\n\n"
               "API: gradio_client.Client(URL).predict(message, history, api_name=\"/suggest\") returns the "
               "Suggestion object.")
    ap.add_argument("--knowledge", default=env("COPILOT_KNOWLEDGE", str(DEFAULT_KNOWLEDGE)), metavar="DIR",
                    help="knowledge folder (env COPILOT_KNOWLEDGE; default: the bundled demo shop)")
    ap.add_argument("--index", default=env("COPILOT_INDEX", str(DEFAULT_INDEX)), metavar="DIR",
                    help="index folder, built on first start (env COPILOT_INDEX; default var/demo-index)")
    ap.add_argument("--host", default=env("COPILOT_HOST", "127.0.0.1"),
                    help="address to listen on (env COPILOT_HOST; default 127.0.0.1, this machine only)")
    ap.add_argument("--port", type=int, default=_env_int("COPILOT_PORT", 7860),
                    help="port (env COPILOT_PORT; default 7860)")
    ap.add_argument("--auth", default=env("COPILOT_AUTH"), metavar="USER:PASS",
                    help="require this login (env COPILOT_AUTH); strongly advised off loopback")
    ap.add_argument("--feedback-db", default=env("COPILOT_FEEDBACK_DB", str(DEFAULT_FEEDBACK)), metavar="PATH",
                    help="SQLite file of the feedback record (env COPILOT_FEEDBACK_DB)")
    ap.add_argument("--backend", default=None,
                    help="generator backend: llama.cpp (default), transformers, openai, fake (env COPILOT_BACKEND)")
    ap.add_argument("--today", default=env("COPILOT_TODAY"), metavar="YYYY-MM-DD",
                    help="judge validity windows on this day (demos and tests; default: the real date)")
    ap.add_argument("--concurrency", type=int, default=_env_int("COPILOT_CONCURRENCY", 2),
                    help="suggestions worked on at once (default 2: the machines have 2 cores)")
    ap.add_argument("--queue-size", type=int, default=_env_int("COPILOT_QUEUE_SIZE", 16),
                    help="requests waiting beyond that before new ones are refused (default 16)")
    return ap


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """"user:pass" → ("user", "pass"); None/"" → None; anything else is a UserError."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise UserError("--auth must be USER:PASS with both parts non-empty, e.g. --auth agent:s3cret")
    return user, password


def is_loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    from core.cli import parse_today, run_main

    def _main(args_list: list[str] | None) -> int:
        args = _parser().parse_args(args_list)
        auth = parse_auth(args.auth)
        today = parse_today(args.today) if args.today else None
        if not 1 <= args.port <= 65535:
            raise UserError(f"--port {args.port} is not a port number (1-65535)")
        if args.concurrency < 1 or args.queue_size < 1:
            raise UserError("--concurrency and --queue-size must be at least 1")
        if not is_loopback(args.host) and auth is None:
            print(f"WARNING: serving on {args.host} without --auth: anyone who can reach this machine can read "
                  "the knowledge base and the feedback record. Add --auth USER:PASS.", file=sys.stderr)
        knowledge = Path(args.knowledge)
        settings = load_settings(knowledge, backend=args.backend)
        service = CopilotService(knowledge_dir=knowledge, index_dir=Path(args.index), settings=settings,
                                 feedback_db=Path(args.feedback_db), today=today,
                                 eval_sets_dir=DEFAULT_EVAL_SETS, eval_runs_dir=DEFAULT_EVAL_RUNS)
        if not service.has_index():
            print(f"No index at {args.index} yet: building it from {knowledge} (first start)…", file=sys.stderr)
            bar = TerminalProgress()
            try:
                summary = service.ensure_index(bar)
            finally:
                bar.close()
            print(f"Index ready: {summary['passages']} passages from {summary['files']} files in "
                  f"{summary['seconds']:.1f} s.", file=sys.stderr)
        demo = create_app(service, concurrency=args.concurrency, queue_size=args.queue_size)
        threading.Thread(target=service.warm_up, name="model-warm-up", daemon=True).start()
        launch(demo, host=args.host, port=args.port, auth=auth)
        return 0

    return run_main(_main, list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
