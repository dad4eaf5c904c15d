"""enttag: character-level entity tagging of Chinese text, as a DVC pipeline.

``enttag.Tagger.load("models/model.pkl").tag(["张三在北京工作。"])`` tags new text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Tagger"]

if TYPE_CHECKING:
    from enttag.tagging.tagger import Tagger


def __getattr__(name: str):
    if name == "Tagger":  # imported on first use: `import enttag` stays light (no torch)
        from enttag.tagging.tagger import Tagger

        return Tagger
    raise AttributeError(f"module 'enttag' has no attribute {name!r}")
