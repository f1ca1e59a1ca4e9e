"""Shared basics every other package builds on: the dataclasses, the error family, settings, language helpers and
command-line plumbing. This package imports nothing of the project's own (see tests/test_layering.py)."""
