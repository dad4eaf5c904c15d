"""P(Ent) and P(B | Ent) from a trained crfsuite model: the CRF's marginals at every
character. An Ent/O CRF (labels ``Ent``, ``O``) gives P(B | Ent) = 0; a B/I/O one (``B``,
``I``, ``O``) gives P(Ent) = P(B) + P(I) and P(B | Ent) = P(B) / P(Ent).

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
        labels = set(self.tagger.labels())
        self.tags = "bio" if "B" in labels or "I" in labels else "io"
        self.classes = [c for c in ("Ent", "B", "I") if c in labels]  # a corpus without Ent: none

    def probs(self, texts: Sequence[str]) -> list[np.ndarray]:
        """P(Ent) and P(B | Ent) of every character of each text, (n, 2) float32."""
        out = []
        for text in texts:
            p = np.zeros((len(text), 2), dtype=np.float32)
            if text and self.classes:
                self.tagger.set(char_features(text, self.window))
                marginal = self.tagger.marginal
                m = {c: np.array([marginal(c, i) for i in range(len(text))]) for c in self.classes}
                if self.tags == "io":
                    p[:, 0] = m["Ent"]
                else:
                    ent = m.get("B", 0) + m.get("I", 0)
                    p[:, 0] = ent
                    p[:, 1] = m.get("B", 0) / np.maximum(ent, 1e-12)
            out.append(p)
        return out
