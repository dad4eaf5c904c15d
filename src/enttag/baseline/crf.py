"""The default baseline: a linear-chain CRF over character unigram and bigram windows.

This is the classic Chinese NER reference (crfsuite, L-BFGS with elastic-net
regularisation): per-character features from :mod:`enttag.baseline.features`
plus learned Ent/O transition weights. Its per-character P(Ent) is the CRF's
marginal probability (forward-backward), so the evaluate stage scores it with
the same threshold, span and bootstrap code as the encoder.
"""

from __future__ import annotations

import numpy as np
import sklearn_crfsuite

from enttag.baseline.features import char_features
from enttag.data.readers import Sentence


class CrfBaseline:
    """Linear-chain CRF tagging each character Ent or O."""

    def __init__(self, window: int, c1: float, c2: float, max_iterations: int):
        self.window = window
        self.crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs",
            c1=c1,
            c2=c2,
            max_iterations=max_iterations,
            all_possible_transitions=True,
        )

    def _x(self, texts: list[str]) -> list[list[list[str]]]:
        return [char_features(t, self.window) for t in texts]

    def fit(self, sentences: list[Sentence]) -> CrfBaseline:
        self.crf.fit(self._x([s.text for s in sentences]), [list(s.labels) for s in sentences])
        return self

    def p_ent(self, texts: list[str]) -> np.ndarray:
        """P(Ent) of every character (CRF marginals), flat, in order."""
        marginals = self.crf.predict_marginals(self._x(texts))
        return np.array([m.get("Ent", 0.0) for seq in marginals for m in seq], dtype=np.float32)
