"""Knowledge indexing: load → chunk → embed → write an index folder (`python -m index --help`)."""
