"""Character-level scores: gold labels per sentence, Ent P/R/F1, the sklearn report."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, precision_recall_fscore_support

from enttag.encode.windows import CharSheet, EncodedSplit
from enttag.labels import LABELS


def gold_per_sentence(data: EncodedSplit) -> list[np.ndarray]:
    """Gold label ids (0 = Ent, 1 = O) of every scored character, one array per sentence."""
    sheet = CharSheet(data, dtype=np.int64)
    labels, ptr = data.labels.numpy(), data.ptr.numpy()
    for w in range(len(data)):
        sheet.put(w, labels[ptr[w] : ptr[w + 1]])
    return sheet.per_sentence()


def ent_prf(gold: list[np.ndarray], pred: list[np.ndarray]) -> dict[str, float]:
    """Precision, recall and F1 of the Ent class over all characters."""
    p, r, f, _ = precision_recall_fscore_support(
        np.concatenate(gold), np.concatenate(pred), labels=[0], zero_division=0
    )
    return {"ent_precision": float(p[0]), "ent_recall": float(r[0]), "ent_f1": float(f[0])}


def report(gold: list[np.ndarray], pred: list[np.ndarray]) -> tuple[dict, str]:
    """sklearn's per-class report over all characters, as a dict and as text (4 digits)."""
    names = np.array(LABELS)
    y_true, y_pred = names[np.concatenate(gold)], names[np.concatenate(pred)]
    kwargs = {"labels": list(LABELS), "zero_division": 0}
    as_dict = classification_report(y_true, y_pred, output_dict=True, **kwargs)
    as_text = classification_report(y_true, y_pred, digits=4, **kwargs)
    return as_dict, as_text
