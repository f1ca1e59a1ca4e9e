"""The app's state and actions, without any Gradio: the live Copilot, index (re)builds, feedback and promotion.

Every handler takes `service.copilot` once at its start, so a re-index that swaps in a new Copilot never
changes the index under a request that is already running. Builds are serialised by one lock; a failed or
cancelled build leaves the previous index folder (atomic swap in `index.build`) and the previous Copilot serving.
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from app_parts import feedback as fb
from app_parts.history import parse_history
from core.errors import UserError
from core.events import DoneEvent, HitsEvent
from core.settings import Settings

Progress = Callable[[int, int, str], None]


class ReindexCancelled(UserError):
    """The maintainer cancelled the re-index; the previous index keeps serving."""


@dataclass
class BuildState:
    running: bool = False
    started: float = 0.0
    what: str = ""
    done: int = 0
    total: int = 0
    last_summary: dict[str, Any] | None = None
    last_error: str = ""
    last_finished: float = 0.0
    builds: int = 0
    history: list[str] = field(default_factory=list)


class CopilotService:
    """Holds the live Copilot and performs what the views ask for."""

    def __init__(self, *, knowledge_dir: str | Path, index_dir: str | Path, settings: Settings,
                 feedback_db: str | Path, generator: Any = None, embedder: Any = None, today: date | None = None,
                 eval_sets_dir: str | Path = "eval/sets", eval_runs_dir: str | Path = "var/eval-runs",
                 mask: fb.Mask | None = None) -> None:
        self.knowledge_dir = Path(knowledge_dir)
        self.index_dir = Path(index_dir)
        self.settings = settings
        self.generator = generator
        self.embedder = embedder
        self.fixed_today = today
        self.eval_sets_dir = Path(eval_sets_dir)
        self.eval_runs_dir = Path(eval_runs_dir)
        self.feedback = fb.FeedbackStore(feedback_db, mask=mask)
        self._export_dir: Path | None = None
        self.build = BuildState()
        self._copilot: Any = None
        self._build_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._cancel = threading.Event()
        self._pending = False
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------- copilot
    def today(self) -> date:
        return self.fixed_today or date.today()

    def has_index(self) -> bool:
        return (self.index_dir / "manifest.json").is_file()

    def open(self) -> Any:
        """(Re)open the Copilot on the current index folder and make it the live one."""
        from suggest.pipeline import Copilot

        copilot = Copilot.open(self.index_dir, self.settings, embedder=self.embedder, generator=self.generator)
        self._copilot = copilot
        return copilot

    @property
    def copilot(self) -> Any:
        if self._copilot is None:
            if not self.has_index():
                raise UserError(f"no index at {self.index_dir} yet; build it from {self.knowledge_dir} first")
            self.open()
        return self._copilot

    def warm_up(self) -> None:
        """Load the generator and run each language's fixed prompt prefix once, so the first agent's first
        token does not pay for the model load. Failures are left for the first real request to report."""
        from suggest.drafting import warm_up

        try:
            copilot = self.copilot
            warm_up(copilot.get_generator(), copilot.shop)
        except Exception as e:  # noqa: BLE001 - best effort: the page shows real errors per request
            print(f"note: model warm-up failed ({type(e).__name__}: {e}); drafts will report it", file=sys.stderr)

    def ensure_index(self, progress: Progress | None = None) -> dict[str, Any] | None:
        """Build the index when there is none (first start); returns the build summary or None."""
        if self.has_index():
            return None
        return self.reindex(progress)

    def validate(self, message: str, history: Any) -> tuple[str, list[dict[str, str]]]:
        from suggest.retrieve import validate_message

        text = validate_message(message, self.settings)
        turns = parse_history(history, max_chars=4 * self.settings.max_message_chars)
        return text, turns

    def suggest(self, message: str, history: Any = None, draft: bool = True) -> dict[str, Any]:
        """The Suggestion dict (DESIGN §4) for the API endpoint. A backend crash that escapes the pipeline is
        reported in `errors` with the retrieval result kept."""
        text, turns = self.validate(message, history)
        copilot = self.copilot
        sug = None
        try:
            for event in copilot.run(text, today=self.today(), history=turns or None, draft=draft):
                if isinstance(event, (HitsEvent, DoneEvent)):
                    sug = event.suggestion
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - keep retrieval and any saved reply
            if sug is None:
                raise
            sug.errors.append(f"draft failed: {type(e).__name__}: {e}")
        return sug.to_dict()

    # --------------------------------------------------------------------------------------------- index
    def cancel_reindex(self) -> bool:
        """Ask a running build to stop at its next progress step; True when one was running."""
        if self.build.running:
            self._cancel.set()
            return True
        return False

    def reindex(self, progress: Progress | None = None) -> dict[str, Any]:
        """Build (incrementally) and swap in the new index, then reopen the Copilot on it. Blocks while another
        build runs. On failure or cancellation the previous index and Copilot keep serving."""
        from index.build import build_index

        with self._build_lock:
            self._cancel.clear()
            st = self.build
            st.running, st.started, st.what, st.done, st.total = True, time.time(), "starting", 0, 0

            def on_progress(done: int, total: int, what: str) -> None:
                if self._cancel.is_set():
                    raise ReindexCancelled("re-index cancelled; the previous index is still serving")
                st.done, st.total, st.what = done, total, what
                if progress:
                    progress(done, total, what)

            try:
                summary = build_index(self.knowledge_dir, self.index_dir, self.settings, progress=on_progress,
                                      embedder=self.embedder)
                self.open()  # the new index is live on disk now: a late cancel changes nothing
            except Exception as e:
                st.last_error = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}"
                st.history.append(f"{time.strftime('%H:%M:%S')} failed: {st.last_error}")
                raise
            finally:
                st.running = False
                st.last_finished = time.time()
                self._cancel.clear()
            st.last_error = ""
            st.builds += 1
            st.last_summary = summary.to_dict()
            st.history.append(f"{time.strftime('%H:%M:%S')} built: {summary.passages} passages "
                              f"(+{summary.added} −{summary.removed}, {summary.seconds:.1f}s)")
            return st.last_summary

    def reindex_in_background(self) -> threading.Thread:
        """Queue an incremental re-index on a worker thread (several requests collapse into one build)."""
        with self._state_lock:
            self._pending = True
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="copilot-reindex", daemon=True)
                self._worker.start()
            return self._worker

    def _work(self) -> None:
        while True:
            with self._state_lock:
                if not self._pending:
                    self._worker = None
                    return
                self._pending = False
            try:
                self.reindex()
            except Exception:  # noqa: BLE001 - recorded in build.last_error; the old index keeps serving
                pass

    def wait_for_background(self, timeout: float = 60.0) -> bool:
        """Wait until no background build is queued or running (tests and shutdown)."""
        end = time.time() + timeout
        while time.time() < end:
            with self._state_lock:
                worker = self._worker
            if worker is None:
                return True
            worker.join(timeout=0.05)
        return False

    def index_info(self) -> dict[str, Any]:
        copilot = self._copilot
        if copilot is None:
            return {"passages": 0, "files": 0, "built_at": "", "embedding_model": ""}
        m = copilot.retriever.index.manifest
        return {"passages": len(copilot.retriever.passages), "files": len(m.files), "built_at": m.built_at,
                "embedding_model": m.embedding_model}

    # ------------------------------------------------------------------------------------------ feedback
    def record(self, *, status: str, state: Mapping[str, Any], final_text: str = "", reason: str = "",
               checks: Sequence[Mapping[str, Any]] = ()) -> int:
        """Store an agent's decision on the suggestion in `state` (what the agent view keeps per session)."""
        if not state or not state.get("message"):
            raise UserError("suggest a reply first; there is nothing to accept or reject yet")
        timings = dict((state.get("suggestion") or {}).get("timings_ms") or {})
        if state.get("shown_at"):
            timings["decision"] = (time.time() - float(state["shown_at"])) * 1000
        return self.feedback.record(status=status, message=state["message"], suggestion=state.get("suggestion"),
                                    history=state.get("history") or [], draft_origin=state.get("origin", ""),
                                    draft_text=state.get("draft_text", ""), final_text=final_text,
                                    reason=reason, checks=checks, timings=timings)

    def record_external(self, *, message: str, final_text: str = "", status: str = "accepted", reason: str = "",
                        draft_text: str = "", suggestion: Mapping[str, Any] | None = None, history: Any = None
                        ) -> dict[str, Any]:
        """A decision reported through the API (another helpdesk showed the drafts). The draft compared with the
        final text is `draft_text`, else the last draft of `suggestion`."""
        text, turns = self.validate(message, history)
        if status == "accepted" and not (final_text or "").strip():
            raise UserError("an accepted reply needs the final_text that was sent")
        suggestion = suggestion if isinstance(suggestion, Mapping) else {}
        drafts = suggestion.get("drafts") or []
        if not draft_text and drafts:
            draft_text = str(drafts[-1].get("text") or "")
        origin = next((str(d.get("origin") or "") for d in drafts if d.get("text") == draft_text), "")
        rid = self.feedback.record(status=status, message=text, suggestion=suggestion, history=turns,
                                   draft_origin=origin, draft_text=draft_text, final_text=final_text or "",
                                   reason=reason or "", timings=suggestion.get("timings_ms") or {})
        return {"id": rid, "edit_distance": self.feedback.get(rid)["edit_distance"]}

    def promote(self, record_id: int, question: str, answer: str, keywords: str = "", valid_from: str = "",
                valid_until: str = "", background: bool = True) -> dict[str, str]:
        """Add a reviewed accepted reply to the knowledge folder as a past reply and re-index (in the background
        by default: agents keep the current index meanwhile)."""
        record = self.feedback.get(record_id)
        if record["status"] != "accepted":
            raise UserError(f"feedback #{record_id} was rejected; only accepted replies can be promoted")
        row = fb.promote_reply(self.knowledge_dir, question, answer, mask=self.feedback.mask, keywords=keywords,
                               valid_from=valid_from, valid_until=valid_until,
                               tags=f"promoted;feedback-{record_id}")
        self.feedback.mark_promoted(record_id)
        if background:
            self.reindex_in_background()
        else:
            self.reindex()
        return row

    @property
    def export_dir(self) -> Path:
        """A private temporary folder for export files (made on first export; Gradio serves a copy)."""
        if self._export_dir is None:
            self._export_dir = Path(tempfile.mkdtemp(prefix="copilot-exports-"))
        return self._export_dir

    def close(self) -> None:
        """Wait for a queued re-index and remove the export folder."""
        import shutil

        self.wait_for_background(60)
        if self._export_dir is not None:
            shutil.rmtree(self._export_dir, ignore_errors=True)
            self._export_dir = None

    def export(self, kind: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.export_dir / f"feedback-{stamp}.{kind}"
        if kind == "csv":
            return self.feedback.export_csv(path)
        if kind == "jsonl":
            return self.feedback.export_jsonl(path)
        raise UserError(f"unknown export format {kind!r}; use csv or jsonl")
