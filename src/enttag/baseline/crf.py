"""The default baseline: a linear-chain CRF over character unigram and bigram windows.

This is the classic Chinese NER reference (crfsuite, L-BFGS with elastic-net
regularisation): per-character features from :mod:`enttag.baseline.features`
plus learned transition weights, over Ent/O labels or (``tags="bio"``) B/I/O tags.
Its per-character P(Ent) and P(B | Ent) are the CRF's marginal probabilities
(forward-backward, :mod:`enttag.baseline.marginals`), so the
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
    """Linear-chain CRF tagging each character Ent or O, or B, I or O."""

    def __init__(self, window: int, c1: float, c2: float, max_iterations: int, tags: str = "io"):
        self.window, self.tags = window, tags
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
                [list(s.labels if self.tags == "io" else s.tags) for s in sentences],
            )
            self.model = path.read_bytes()
        return self

    def probs(self, texts: list[str]) -> np.ndarray:
        """P(Ent) and P(B | Ent) of every character (CRF marginals), (n, 2), flat, in order."""
        assert self.model is not None, "fit first"
        per_text = CrfMarginals(self.model, self.window).probs(texts)
        return np.concatenate(per_text) if per_text else np.zeros((0, 2), np.float32)
