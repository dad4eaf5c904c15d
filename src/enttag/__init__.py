"""enttag: character-level entity tagging of Chinese text, as a DVC pipeline."""

__version__ = "0.1.0"
