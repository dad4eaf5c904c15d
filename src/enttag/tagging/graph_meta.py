"""An export's settings (``tagger.json``) checked against the graph they go with.

``enttag export`` stamps into the graph's metadata what it knows of itself: its
vocabulary rows, its positions, and a fingerprint of the character map, special ids
and labels it was exported with. Loading an export checks every field of
``tagger.json`` against them, so settings copied from another export, or edited out
of range, stop with one line naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from enttag.errors import EnttagError
from enttag.labels import CLASSES

PROPS = "enttag."  # prefix of the graph's metadata_props


def fingerprint(meta: dict[str, Any]) -> str:
    """sha256 of the fields that must belong to the graph: character map, specials, labels, tags."""
    keys = ("char_to_id", "specials", "labels", "tags")
    text = json.dumps({k: meta.get(k) for k in keys}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def graph_props(model: Any, meta: dict[str, Any]) -> dict[str, str]:
    """What the graph records about itself: its vocabulary rows, positions, and the
    fingerprint of the settings it was exported with."""
    from enttag.encode.tokenized import positions_of

    return {
        PROPS + "vocab_size": str(model.encoder.get_input_embeddings().num_embeddings),
        PROPS + "positions": str(positions_of(model.encoder.config)),
        PROPS + "fingerprint": fingerprint(meta),
    }


def stamp(graph: Path, props: dict[str, str]) -> None:
    """Add ``props`` to the graph file's metadata (kept by the int8 quantisation)."""
    import onnx

    proto = onnx.load(graph)
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, graph)


def check_meta(where: Path, meta: dict[str, Any], props: dict[str, str]) -> None:
    """Check every field of ``meta`` (read from ``where``, an export's ``tagger.json``)
    against its graph's own ``props``; one EnttagError naming the file and the field."""

    def bad(field: str, why: str) -> EnttagError:
        return EnttagError(f"{where}: {field} {why}")

    if PROPS + "fingerprint" not in props:
        raise EnttagError(f"{where}: its graph records no settings to check; export it again")
    vocab, positions = int(props[PROPS + "vocab_size"]), int(props[PROPS + "positions"])

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def check_ids(field: str, mapping: Any, keys_are_chars: bool) -> None:
        if not isinstance(mapping, dict) or not mapping:
            raise bad(field, f"must be a non-empty object, got {type(mapping).__name__}")
        for key, value in mapping.items():
            if keys_are_chars and len(key) != 1:
                raise bad(field, f"key {key!r} is not one character")
            if not is_int(value) or not 0 <= value < vocab:
                raise bad(field, f"{key!r} is {value!r}, not an id of the graph's {vocab} rows")

    check_ids("char_to_id", meta.get("char_to_id"), True)
    check_ids("specials", meta.get("specials"), False)
    if sorted(meta["specials"]) != ["cls", "pad", "sep", "unk"]:
        raise bad("specials", f"must hold cls, sep, pad and unk, got {sorted(meta['specials'])}")
    tags = meta.get("tags")
    if tags not in CLASSES:
        raise bad("tags", f"must be one of {', '.join(CLASSES)}, got {tags!r}")
    if meta.get("labels") != list(CLASSES[tags]):
        raise bad("labels", f"must be {list(CLASSES[tags])} ({tags}), got {meta.get('labels')!r}")
    max_length, stride = meta.get("max_length"), meta.get("stride")
    if not is_int(max_length) or not 8 <= max_length <= positions:
        raise bad(
            "max_length",
            f"must be an integer in [8, {positions}] (the graph's positions), got {max_length!r}",
        )
    if not is_int(stride) or not 0 <= stride <= max_length - 3:
        raise bad(
            "stride",
            f"must be an integer in [0, max_length - 3 = {max_length - 3}], got {stride!r}",
        )
    threshold = meta.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise bad("threshold", f"must be null or a number in [0, 1], got {threshold!r}")
    if fingerprint(meta) != props[PROPS + "fingerprint"]:
        raise EnttagError(
            f"{where}: char_to_id, specials, labels and tags are not those its graph was exported "
            "with (copied from another export?); export the model again"
        )
