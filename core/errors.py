"""The one error type shown to users as a single line (the CLIs print it and exit non-zero)."""


class UserError(Exception):
    """Bad input or a broken setup: the message names the problem and the fix, in one line."""


class KnowledgeError(UserError):
    """A problem in a knowledge file or entry (bad date, kind, keywords, table row): names the field and the fix."""
