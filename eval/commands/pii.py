"""`python -m eval pii`: personal-data masking rate on a synthetic set; eval.pii_synth prints its own table and
JSON, so this command only checks the options and hands them over."""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import UserError
from eval import pii_synth


@dataclass(frozen=True)
class PiiOptions:
    n: int  # synthetic messages
    seed: int


def run_pii(options: PiiOptions, as_json: bool) -> int:
    """The exit code of `python -m eval.pii_synth` run with these options."""
    if options.n < 1:
        raise UserError("--n must be at least 1")
    return pii_synth.main(["--n", str(options.n), "--seed", str(options.seed)] + (["--json"] if as_json else []))
