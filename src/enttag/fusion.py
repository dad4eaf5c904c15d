"""The shipped tagger's rule: the encoder's P(Ent) mixed with the CRF baseline's.

Two rules, each with one weight ``w`` given to the encoder:

- ``linear``: ``w * p_enc + (1 - w) * p_crf``;
- ``logodds``: ``sigmoid(w * logit(p_enc) + (1 - w) * logit(p_crf))``.

The rule, the weight and the P(Ent) cut are chosen on dev alone (:func:`choose`); the
fuse stage records them in the shipped model file, and the Tagger, the ONNX export and
the evaluate stage all compute P(Ent) through :meth:`Fusion.mix`. numpy only.

Per class: a B/I/O tagger's P(B | Ent) (``labels``) is mixed with the CRF's by the same
rule and weight (:meth:`Fusion.mix` takes both columns at once), so the fused tagger
opens an entity where the mix of the two models says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from enttag.errors import EnttagError
from enttag.labels import Seqs, flatten

RULES = ("linear", "logodds")
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before taking log-odds


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p.astype(np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Fusion:
    """A chosen rule, the encoder's weight in it, and the P(Ent) cut of the mix."""

    rule: str
    weight: float
    threshold: float

    def __post_init__(self) -> None:
        if self.rule not in RULES or not 0 <= self.weight <= 1 or not 0 < self.threshold <= 1:
            raise EnttagError(f"not a valid fusion: {self}")

    def mix(self, p_enc: np.ndarray, p_crf: np.ndarray) -> np.ndarray:
        """Fused probabilities (float32) of aligned arrays: P(Ent), P(B | Ent) or both."""
        return mix(self.rule, self.weight, p_enc, p_crf)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Fusion:
        try:
            return cls(str(raw["rule"]), float(raw["weight"]), float(raw["threshold"]))
        except (KeyError, TypeError, ValueError) as e:
            raise EnttagError(f"damaged fusion settings {raw!r}: {e}") from None


def mix(rule: str, weight: float, p_enc: np.ndarray, p_crf: np.ndarray) -> np.ndarray:
    """P(Ent) of ``rule`` with the encoder at ``weight`` (float32, the inputs' shape)."""
    p_enc, p_crf = np.asarray(p_enc), np.asarray(p_crf)
    if p_enc.shape != p_crf.shape:
        raise EnttagError(f"cannot fuse P(Ent) of shapes {p_enc.shape} and {p_crf.shape}")
    if rule == "linear":
        mixed = weight * p_enc.astype(np.float64) + (1 - weight) * p_crf.astype(np.float64)
    else:
        z = weight * _logit(p_enc) + (1 - weight) * _logit(p_crf)
        mixed = 1 / (1 + np.exp(-z))
    return mixed.astype(np.float32)


def weight_grid(step: float) -> list[float]:
    """0, step, 2 step, ..., 1 (the encoder's weight), rounded to 6 places."""
    n = round(1 / step)
    return [round(i / n, 6) for i in range(n + 1)]


def choose(
    gold: np.ndarray | Seqs,
    p_enc: np.ndarray | Seqs,
    p_crf: np.ndarray | Seqs,
    rules: tuple[str, ...],
    weights: list[float],
) -> tuple[Fusion, list[dict[str, float | str]]]:
    """The (rule, weight, cut) with the best dev Ent F1, and every candidate's row.

    Each candidate's cut is its own F1-best threshold on dev; ties go to the first
    candidate in ``rules`` x ``weights`` order (so to the CRF end of the grid).
    """
    from enttag.metrics.threshold import best_threshold  # sklearn: only where choosing

    gold, p_enc, p_crf = flatten(gold), flatten(p_enc), flatten(p_crf)
    rows: list[dict[str, float | str]] = []
    best: tuple[float, Fusion] | None = None
    for rule in rules:
        for w in weights:
            threshold, f1 = best_threshold(gold, mix(rule, w, p_enc, p_crf))
            rows.append({"rule": rule, "weight": w, "threshold": threshold, "dev_ent_f1": f1})
            if best is None or f1 > best[0]:
                best = (f1, Fusion(rule, w, threshold))
    assert best is not None
    return best[1], rows
