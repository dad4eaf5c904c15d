"""Resolve ``model.name`` (built-in, hub id or local folder) into one local HF folder.

Everything downstream loads the encoder from that folder with ``from_pretrained``,
whatever it came from.
"""

from __future__ import annotations

from pathlib import Path

from transformers import AutoModel, AutoTokenizer

from enttag.atomic import atomic_dir
from enttag.errors import EnttagError
from enttag.pretrained.e5.convert import is_builtin, materialize


def materialize_encoder(name: str, out_dir: Path) -> Path:
    """Write the encoder ``name`` (weights, config, tokenizer) to ``out_dir``."""
    if is_builtin(name):
        return materialize(name, out_dir)
    if name.startswith((".", "/", "~")) and not Path(name).expanduser().is_dir():
        raise EnttagError(f"model.name {name!r}: no such folder (a local encoder is a folder)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModel.from_pretrained(name)
    except (OSError, ValueError) as e:  # transformers raises either for a bad folder
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise EnttagError(
            f"model.name {name!r}: could not load it with from_pretrained (a hub id needs "
            f"network access; a folder needs config.json, weights and a tokenizer): {first}"
        ) from e
    with atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)
    return out_dir
