"""Shared basics every other package builds on: the dataclasses, the error family, settings, language helpers,
command-line plumbing, the check word lists (rules/) and the instruction detector the index needs. This package
imports nothing of the project's own (see tests/test_layering.py)."""
