"""The one error type shown to users as a single line (the CLIs print it and exit non-zero)."""


class UserError(Exception):
    """Bad input or a broken setup: the message names the problem and the fix, in one line."""
