"""sklearn's per-class report over all characters: the printed report of a split."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report

from enttag.labels import LABELS


def report(gold: list[np.ndarray], pred: list[np.ndarray]) -> tuple[dict, str]:
    """sklearn's per-class report over all characters, as a dict and as text (4 digits)."""
    names = np.array(LABELS)
    y_true, y_pred = names[np.concatenate(gold)], names[np.concatenate(pred)]
    kwargs = {"labels": list(LABELS), "zero_division": 0}
    as_dict = classification_report(y_true, y_pred, output_dict=True, **kwargs)
    as_text = classification_report(y_true, y_pred, digits=4, **kwargs)
    return as_dict, as_text
