"""The project's one error family. Every message is one line that names the problem (and, for bad input, the fix);
the CLIs print any of them as `error: …` and exit non-zero, the app shows it as one line.

    CopilotError
    ├── UserError          bad input or a broken setup (arguments, settings, messages, model files)
    │   └── KnowledgeError a knowledge file or entry that cannot be used (file and line in the message)
    ├── PromptError        a broken prompt template: a missing file or an unfilled {variable}
    └── GeneratorError     the model backend failed at run time (timeout, HTTP error, malformed stream, empty reply)

>>> issubclass(KnowledgeError, UserError), issubclass(GeneratorError, UserError), issubclass(PromptError, CopilotError)
(True, False, True)
"""


class CopilotError(Exception):
    """Base of the project's errors: the message is one line meant for the person at the keyboard."""


class UserError(CopilotError):
    """Bad input or a broken setup: the message names the problem and the fix, in one line."""


class KnowledgeError(UserError):
    """A problem in a knowledge file or entry (bad date, kind, keywords, table row): names the field and the fix."""


class PromptError(CopilotError):
    """A prompt template is missing or was rendered without one of its variables (names the file/variable)."""


class GeneratorError(CopilotError):
    """A run-time failure of the model backend (timeout, HTTP error, malformed stream, empty reply)."""
