"""One module a `python -m eval` subcommand: a frozen options dataclass in, a report dataclass out (`to_dict()`
for --json, `text()` for the table); `eval/__main__.py` only parses the command line and dispatches."""
