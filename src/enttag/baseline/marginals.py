"""P(Ent) from a trained crfsuite model: the CRF's marginal of Ent at every character.

The baseline stage scores dev and test with it, and the shipped tagger runs it beside
the encoder, so both compute the same numbers from the same model bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pycrfsuite

from enttag.baseline.features import char_features
from enttag.errors import EnttagError

CRF_FILE = "crf.crfsuite"  # the fitted CRF's file name, in models/baseline/ and exports


class CrfMarginals:
    """A crfsuite model (its file's bytes) and the feature window it was trained with."""

    def __init__(self, model: bytes, window: int):
        self.model, self.window = model, window  # the tagger reads the bytes in place
        self.tagger = pycrfsuite.Tagger()
        try:
            self.tagger.open_inmemory(model)
        except (ValueError, OSError) as e:
            raise EnttagError(f"not a crfsuite model ({e})") from None
        self.has_ent = "Ent" in self.tagger.labels()  # a corpus without Ent: P(Ent) = 0

    def p_ent(self, texts: Sequence[str]) -> list[np.ndarray]:
        """P(Ent) of every character of each text (float32)."""
        out = []
        for text in texts:
            if not text or not self.has_ent:
                out.append(np.zeros(len(text), dtype=np.float32))
                continue
            self.tagger.set(char_features(text, self.window))
            marginal = self.tagger.marginal
            out.append(np.array([marginal("Ent", i) for i in range(len(text))], np.float32))
        return out
