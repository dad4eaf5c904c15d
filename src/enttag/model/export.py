"""Export a trained model to ONNX: one folder with everything needed to tag.

The folder holds ``model.onnx`` (the network with its softmax: ``input_ids`` and
``attention_mask`` of shape [batch, sequence], both axes dynamic, in; ``p_ent`` of the
same shape out), optionally ``model.int8.onnx`` (its ``MatMul`` weights quantised to
int8 by ONNX Runtime's dynamic quantisation), and ``tagger.json`` (character map,
special ids, window settings, dev-tuned threshold). ``enttag predict --model FOLDER``
or ``Tagger.load(FOLDER, backend="onnx")`` tags with it; windows, batching and
stitching are the same code as with the ``.pkl``.

examples:
  enttag export --model models/model.pkl --out models/onnx
  enttag export --out models/onnx --int8
  enttag predict --model models/onnx --int8 "张三在北京大学工作。"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

from enttag.atomic import atomic_dir, write_json
from enttag.errors import EnttagError
from enttag.labels import LABELS

HELP = "export a trained model to ONNX (optionally int8) for fast tagging"
FORMAT = "enttag-onnx/1"
META = "tagger.json"
GRAPH = {False: "model.onnx", True: "model.int8.onnx"}
OPSET = 17
PROPS = "enttag."  # prefix of the graph's metadata_props that tagger.json is checked against


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="models/model.pkl",
        help="model file written by the train stage (default: %(default)s)",
    )
    parser.add_argument(
        "--out", default="models/onnx", help="folder to write (replaced atomically; %(default)s)"
    )
    parser.add_argument(
        "--int8", action="store_true", help="also write model.int8.onnx (dynamic quantisation)"
    )


def run(args: argparse.Namespace) -> int:
    out = export(args.model, args.out, int8=args.int8)
    print(" ".join(sorted(p.name for p in out.iterdir())), "->", out)
    return 0


def export(model_path: str | Path, out: str | Path, *, int8: bool = False) -> Path:
    """Write the export folder ``out`` for the ``.pkl`` at ``model_path``; returns ``out``."""
    import torch

    from enttag.model.backends import INPUTS, OUTPUT, PEnt
    from enttag.model.network import model_from_checkpoint, read_checkpoint

    checkpoint = read_checkpoint(model_path)
    model = model_from_checkpoint(checkpoint)
    if model.crf is not None:  # its marginals loop over positions: no fixed ONNX graph
        raise EnttagError(f"{model_path}: export supports the linear head, not model.head crf")
    net = PEnt(model).eval()
    specials = checkpoint["specials"]
    example = torch.tensor([[specials["cls"], specials["unk"], specials["sep"]]] * 2)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, OUTPUT)}
    with atomic_dir(out) as tmp:
        with warnings.catch_warnings():  # tracer notes on Python-level shape checks
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net,
                (example, torch.ones_like(example)),
                str(tmp / GRAPH[False]),
                input_names=list(INPUTS),
                output_names=[OUTPUT],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter: no onnxscript needed
            )
        meta = meta_of(checkpoint, model_path)
        stamp(tmp / GRAPH[False], graph_props(model, meta))
        if int8:
            quantize(tmp / GRAPH[False], tmp / GRAPH[True])
        write_json(tmp / META, meta)
    return Path(out)


def fingerprint(meta: dict[str, Any]) -> str:
    """sha256 of the fields that must belong to the graph: the character map, specials, labels."""
    keys = ("char_to_id", "specials", "labels")
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


def check_meta(folder: str | Path, meta: dict[str, Any], props: dict[str, str]) -> None:
    """Check every field of ``tagger.json`` against the graph's own ``props``; one EnttagError
    naming the file and the field."""
    where = Path(folder) / META

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
    if meta.get("labels") != list(LABELS):
        raise bad("labels", f"must be {list(LABELS)}, got {meta.get('labels')!r}")
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
            f"{where}: char_to_id, specials and labels are not those its graph was exported "
            "with (copied from another export?); export the model again"
        )


def quantize(graph: Path, target: Path) -> None:
    """ONNX Runtime's dynamic quantisation: int8 weights, activations quantised per call."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" (not needed here)
    try:
        quantize_dynamic(graph, target, weight_type=QuantType.QInt8)
    finally:
        logging.getLogger().setLevel(level)


def meta_of(checkpoint: dict[str, Any], source: str | Path) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "source": str(source),
        "char_to_id": checkpoint["char_to_id"],
        "specials": checkpoint["specials"],
        "labels": checkpoint["labels"],
        "max_length": checkpoint["max_length"],
        "stride": checkpoint["stride"],
        "threshold": checkpoint.get("threshold"),
    }


def read_meta(folder: str | Path) -> dict[str, Any]:
    """``tagger.json`` of an export folder, checked (EnttagError if it is not one)."""
    path = Path(folder) / META
    if not Path(folder).is_dir():
        raise EnttagError(f"{folder}: not an export folder (write one with `enttag export`)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EnttagError(f"{path}: cannot read the export's settings ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise EnttagError(f"{path}: not an enttag export (no '{FORMAT}' marker)")
    return meta


def graph_path(folder: str | Path, int8: bool) -> Path:
    """The fp32 or int8 graph of an export folder."""
    path = Path(folder) / GRAPH[int8]
    if not path.is_file():
        hint = " (export with --int8)" if int8 else ""
        raise EnttagError(f"{path}: not found{hint}")
    return path
