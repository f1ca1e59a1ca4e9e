"""Retrieval, drafting and checks for the reply-suggestion copilot (`python -m suggest --help`)."""
