"""Tag raw text with a trained model file: P(Ent), Ent/O tags and entity spans.

Example::

    tagger = Tagger.load("models/model.pkl")
    tagger.spans(["张三在北京大学工作。"])  # [[(0, 2, "张三"), (3, 7, "北京大学")]]

Texts of any length are cut into the same overlapping windows as the tokenize
stage (:func:`enttag.encode.charmap.encode_split`), so every character gets exactly one
prediction; characters outside the model's vocabulary read as its unknown token.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from enttag.encode.charmap import Specials
from enttag.encode.windows import encode_split
from enttag.errors import EnttagError
from enttag.model.inference import predict, resolve_device
from enttag.model.network import EntityTagger, model_from_checkpoint, read_checkpoint
from enttag.scoring.spans import spans_from_probs, tags_from_probs

ARGMAX = 0.5  # P(Ent) >= 0.5 is the argmax of the two classes


class Tagger:
    """A loaded enttag model with its character map and windowing settings."""

    def __init__(
        self,
        model: EntityTagger,
        *,
        char_map: dict[str, int],
        specials: Specials,
        max_length: int,
        stride: int,
        dev_threshold: float | None,
        device: torch.device,
    ):
        self.model = model.to(device).eval()
        self.char_map, self.specials = char_map, specials
        self.max_length, self.stride = max_length, stride
        self.dev_threshold = dev_threshold
        self.device = device

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Tagger:
        """Read a model file safely (EnttagError if missing or not an enttag model)."""
        checkpoint = read_checkpoint(path)
        return cls(
            model_from_checkpoint(checkpoint),
            char_map=checkpoint["char_to_id"],
            specials=Specials(**checkpoint["specials"]),
            max_length=checkpoint["max_length"],
            stride=checkpoint["stride"],
            dev_threshold=checkpoint.get("threshold"),
            device=resolve_device(device),
        )

    def cut(self, threshold: float | None = None, use_dev_threshold: bool = False) -> float:
        """The P(Ent) cut to apply: ``threshold``, the model's dev-tuned one, or 0.5."""
        if use_dev_threshold:
            if threshold is not None:
                raise EnttagError("give a threshold or use the dev threshold, not both")
            if self.dev_threshold is None:
                raise EnttagError("this model recorded no dev-tuned threshold; give a number")
            return float(self.dev_threshold)
        return ARGMAX if threshold is None else threshold

    def probs(self, texts: Sequence[str], batch_size: int = 64) -> list[np.ndarray]:
        """P(Ent) per character of each text (``batch_size`` windows per forward pass)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string")
        if not texts:
            return []
        data = encode_split(texts, None, self.char_map, self.specials, self.max_length, self.stride)
        p_ent, _ = predict(
            self.model, data, batch_size=batch_size, pad_id=self.specials.pad, device=self.device
        )
        return p_ent

    def tag(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        *,
        use_dev_threshold: bool = False,
        batch_size: int = 64,
    ) -> list[list[str]]:
        """``"Ent"``/``"O"`` per character of each text."""
        cut = self.cut(threshold, use_dev_threshold)
        return [tags_from_probs(p, cut) for p in self.probs(texts, batch_size)]

    def spans(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        *,
        use_dev_threshold: bool = False,
        batch_size: int = 64,
    ) -> list[list[tuple[int, int, str]]]:
        """Entity spans of each text as ``(start, end, entity text)``, half-open."""
        cut = self.cut(threshold, use_dev_threshold)
        return [
            spans_from_probs(t, p, cut)
            for t, p in zip(texts, self.probs(texts, batch_size), strict=True)
        ]
