"""The simple baseline: logistic regression on a window of characters.

Features are one-hot characters at offsets ``-window ... +window`` around each
character (sentence edges padded). A pretrained encoder that does not clearly
beat this is not worth its cost.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from enttag.data.readers import Sentence
from enttag.labels import LABELS

PAD, UNK = 0, 1


class WindowBaseline:
    """Character-window logistic regression for Ent/O."""

    def __init__(self, window: int = 2, c: float = 1.0, max_iter: int = 200):
        self.window, self.c, self.max_iter = window, c, max_iter
        self.vocab: dict[str, int] = {}
        self.model: LogisticRegression | None = None

    def features(self, texts: list[str]) -> sp.csr_matrix:
        """One row per character, one active column per offset."""
        offsets = range(-self.window, self.window + 1)
        width = len(self.vocab) + 2
        rows = []
        for text in texts:
            ids = np.array([self.vocab.get(c, UNK) for c in text], dtype=np.int64)
            padded = np.concatenate([np.full(self.window, PAD), ids, np.full(self.window, PAD)])
            rows.append(
                np.stack(
                    [
                        padded[self.window + k : self.window + k + len(ids)] + j * width
                        for j, k in enumerate(offsets)
                    ],
                    axis=1,
                )
            )
        cols = np.concatenate(rows) if rows else np.empty((0, len(offsets)), dtype=np.int64)
        n, k = cols.shape
        return sp.csr_matrix(
            (np.ones(n * k, dtype=np.float32), cols.ravel(), np.arange(0, n * k + 1, k)),
            shape=(n, width * len(offsets)),
        )

    def fit(self, sentences: list[Sentence]) -> WindowBaseline:
        chars = sorted({c for s in sentences for c in s.text})
        self.vocab = {c: i + 2 for i, c in enumerate(chars)}
        x = self.features([s.text for s in sentences])
        y = np.array([LABELS.index(t) for s in sentences for t in s.labels])
        self.model = LogisticRegression(C=self.c, max_iter=self.max_iter).fit(x, y)
        return self

    def probs(self, texts: list[str]) -> np.ndarray:
        """P(Ent) and P(B | Ent) of every character, (n, 2), flat, in order; Ent/O only,
        so P(B | Ent) is 0 (every run of Ent is one entity)."""
        column = list(self.model.classes_).index(LABELS.index("Ent"))
        p_ent = self.model.predict_proba(self.features(texts))[:, column].astype(np.float32)
        return np.stack([p_ent, np.zeros_like(p_ent)], axis=1)
