"""Character window features for the classic baselines.

Each character is described by the characters at offsets ``-window ... +window``
(unigrams) and the character pairs starting at offsets ``-window ... window - 1``
(bigrams), sentence edges padded with markers that no character equals.
"""

from __future__ import annotations

BOS, EOS = "\x02", "\x03"


def char_features(text: str, window: int) -> list[list[str]]:
    """One list of feature strings per character of ``text``."""
    padded = BOS * window + text + EOS * window
    out = []
    for i in range(len(text)):
        centre = i + window
        feats = ["bias"]
        feats += [f"u{k}={padded[centre + k]}" for k in range(-window, window + 1)]
        feats += [f"b{k}={padded[centre + k : centre + k + 2]}" for k in range(-window, window)]
        out.append(feats)
    return out
