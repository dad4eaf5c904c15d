"""Corpus readers, the built-in corpus source, and the prepared splits."""
