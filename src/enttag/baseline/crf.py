"""The default baseline: a linear-chain CRF over character unigram and bigram windows.

This is the classic Chinese NER reference (crfsuite, L-BFGS with elastic-net
regularisation): per-character features from :mod:`enttag.baseline.features`
plus learned Ent/O transition weights. Its per-character P(Ent) is the CRF's
marginal probability (forward-backward, :mod:`enttag.baseline.marginals`), so the
evaluate stage scores it with the same threshold, span and bootstrap code as the
encoder, and the shipped tagger can mix it with the encoder's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import sklearn_crfsuite

from enttag.baseline.features import char_features
from enttag.baseline.marginals import CRF_FILE, CrfMarginals
from enttag.data.readers import Sentence


class CrfBaseline:
    """Linear-chain CRF tagging each character Ent or O."""

    def __init__(self, window: int, c1: float, c2: float, max_iterations: int):
        self.window = window
        self.settings = {"c1": c1, "c2": c2, "max_iterations": max_iterations}
        self.model: bytes | None = None  # the crfsuite model file, once fitted

    def fit(self, sentences: list[Sentence]) -> CrfBaseline:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / CRF_FILE
            crf = sklearn_crfsuite.CRF(
                algorithm="lbfgs",
                all_possible_transitions=True,
                model_filename=str(path),
                **self.settings,
            )
            crf.fit(
                [char_features(s.text, self.window) for s in sentences],
                [list(s.labels) for s in sentences],
            )
            self.model = path.read_bytes()
        return self

    def p_ent(self, texts: list[str]) -> np.ndarray:
        """P(Ent) of every character (CRF marginals), flat, in order."""
        assert self.model is not None, "fit first"
        per_text = CrfMarginals(self.model, self.window).p_ent(texts)
        return np.concatenate(per_text) if per_text else np.zeros(0, np.float32)
