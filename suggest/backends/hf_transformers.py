"""The `transformers` backend: AutoModelForCausalLM on a GGUF (dequantised), an HF folder or a hub id."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

from core.errors import GeneratorError, UserError
from core.settings import Settings
from suggest.backends.base import INSTALL_HINT, Messages, StopFilter
from suggest.modelfiles import ModelSpec, resolve_model

class TransformersGenerator:
    """transformers AutoModelForCausalLM: a GGUF (dequantised to fp32 by `gguf_file=`), a local HF folder or a hub
    id. Streams through `TextIteratorStreamer` with `generate` in a worker thread; uses CUDA when available."""

    name = "transformers"

    def __init__(self, spec: ModelSpec, *, n_threads: int = 1) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise UserError(f"the transformers backend needs torch and transformers; run `{INSTALL_HINT}`") from None
        torch.set_num_threads(n_threads)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        kwargs: dict[str, Any] = {}
        if spec.kind == "gguf":
            path = Path(spec.location)
            source, kwargs["gguf_file"] = str(path.parent), path.name
        else:
            source = spec.location
        if spec.kind != "hf_id":
            kwargs["local_files_only"] = True  # a local file or folder must never trigger a download
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            self.model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs).to(self.device)
        except (OSError, ValueError, RuntimeError) as e:
            hint = (" (a Hugging Face id needs hub access or a prior download; offline, use a .gguf file or a "
                    "local model folder)" if spec.kind == "hf_id" else "")
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UserError(f"transformers cannot load {spec.location}: {first}{hint}") from None
        self.model.eval()
        self._torch = torch
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "TransformersGenerator":
        return cls(resolve_model(settings), n_threads=settings.llm_threads)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's vocabulary (for tokens-per-second figures)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: Messages, *, max_new_tokens: int, temperature: float,
               stop: list[str] | None = None) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        halt = threading.Event()

        class _Halt(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return self_torch.full((input_ids.shape[0],), halt.is_set(), dtype=self_torch.bool,
                                       device=input_ids.device)

        self_torch = self._torch
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with self_torch.inference_mode():
                    self.model.generate(**inputs, streamer=streamer, max_new_tokens=max_new_tokens,
                                        stopping_criteria=StoppingCriteriaList([_Halt()]),
                                        pad_token_id=self.tokenizer.eos_token_id, **sampling)
            except BaseException as e:  # re-raised in the consumer
                failure.append(e)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=work, name="transformers-generate", daemon=True)
            worker.start()
            filt = StopFilter(stop)
            ended = False  # the streamer signalled the end (iterating it again would block)
            try:
                for piece in streamer:
                    out = filt.feed(piece)
                    if out:
                        yield out
                    if filt.stopped:
                        break
                else:
                    ended = True
                tail = filt.flush()
                if tail:
                    yield tail
            finally:
                halt.set()  # a stop string or an abandoned stream: let generate() return at the next token
                if not ended:
                    for _ in streamer:  # drain until generate() signals its end
                        pass
                worker.join()
        if failure:
            raise GeneratorError(f"transformers generation failed: {failure[0]}") from None


# ------------------------------------------------------------------------------------------------- openai
