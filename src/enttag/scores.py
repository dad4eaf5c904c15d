"""Character-level scores: gold labels per sentence, Ent P/R/F1, the sklearn report."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, precision_recall_fscore_support

from enttag.corpus import LABELS
from enttag.encoding import EncodedSplit
from enttag.inference import sentence_offsets


def gold_per_sentence(data: EncodedSplit) -> list[np.ndarray]:
    """Gold label ids (0 = Ent, 1 = O) of every scored character, one array per sentence."""
    offsets = sentence_offsets(data)
    flat = np.empty(int(offsets[-1]), dtype=np.int64)
    labels, scored, ptr = data.labels.numpy(), data.scored.numpy(), data.ptr.numpy()
    sent, start = data.sent.numpy(), data.start.numpy()
    for w in range(len(data)):
        a, b = ptr[w], ptr[w + 1]
        cols = np.flatnonzero(scored[a:b])
        flat[offsets[sent[w]] + start[w] + cols - 1] = labels[a:b][cols]
    return [flat[offsets[s] : offsets[s + 1]] for s in range(data.n_sentences)]


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
