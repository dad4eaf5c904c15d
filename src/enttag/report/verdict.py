"""Did the model learn anything? Chance-aware scores and a verdict for Ent/O tagging.

A tagger that guesses independently of the text has Ent precision equal to the Ent
share of the data and MCC 0, however many Ent it predicts: with a 20% Ent share that
is Ent precision 0.20 and macro F1 near 0.50, which look like numbers but mean nothing.

Verdict rules, applied in order to a :func:`summary`:

1. ``collapsed`` if one class is predicted for at least 99% of the scored
   characters: ``max(pred_ent_share, 1 - pred_ent_share) >= 0.99``.
2. ``chance`` if the MCC confidence interval includes 0 (``mcc_ci[0] <= 0``), or
   Ent precision is within the noise of the Ent share
   (``ent_precision_ci[0] <= ent_share``). A model reliably worse than chance
   (MCC interval below 0) is ``chance`` too.
3. ``learned`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COLLAPSE_SHARE = 0.99


def verdict(s: Mapping[str, Any]) -> str:
    """``collapsed``, ``chance`` or ``learned`` by the rules in the module docstring.

    Needs ``pred_ent_share``, ``ent_share``, ``mcc_ci`` and ``ent_precision_ci``.
    """
    if max(s["pred_ent_share"], 1 - s["pred_ent_share"]) >= COLLAPSE_SHARE:
        return "collapsed"
    if s["mcc_ci"][0] <= 0 or s["ent_precision_ci"][0] <= s["ent_share"]:
        return "chance"
    return "learned"


def _fmt(value: float, ci: Sequence[float]) -> str:
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def explain(v: str, s: Mapping[str, Any]) -> str:
    """One line saying why ``s`` (a :func:`summary`) gets verdict ``v``."""
    if v != verdict(s):
        raise ValueError(f"verdict {v!r} does not follow from this summary")
    if v == "collapsed":
        ent = s["pred_ent_share"]
        cls, frac = ("Ent", ent) if ent >= 0.5 else ("O", 1 - ent)
        return f"collapsed: {frac:.1%} of characters are predicted {cls}; it predicts one class"
    precision = f"Ent precision {_fmt(s['ent_precision'], s['ent_precision_ci'])}"
    mcc = f"MCC {_fmt(s['mcc'], s['mcc_ci'])}"
    share = f"the Ent share {s['ent_share']:.3f}"
    if v == "chance":
        reasons = []
        if s["ent_precision_ci"][0] <= s["ent_share"]:
            reasons.append(f"{precision} is within noise of {share}")
        if s["mcc_ci"][0] <= 0:
            reasons.append(f"{mcc} includes 0")
        return f"chance: {' and '.join(reasons)}; the model learned nothing"
    return f"learned: {precision} is above {share} and {mcc} is above 0"
