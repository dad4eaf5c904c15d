"""Export a trained model to ONNX: one folder with everything needed to tag.

The folder holds ``model.onnx`` (the network with its softmax: ``input_ids`` and
``attention_mask`` of shape [batch, sequence], both axes dynamic, in; ``probs``, P(Ent)
and P(B | Ent) of shape [batch, sequence, 2], out), optionally ``model.int8.onnx`` (its
``MatMul`` weights quantised to int8 by ONNX Runtime's dynamic quantisation), and
``tagger.json`` (character map, special ids, tag scheme, window settings, dev-tuned
threshold). A shipped tagger that fuses the encoder with the CRF baseline also writes
``crf.crfsuite`` and its rule in ``tagger.json``: the folder's probabilities are then the
fused ones, as the ``.pkl``'s. ``enttag predict --model FOLDER`` or
``Tagger.load(FOLDER, backend="onnx")`` tags with it; windows, batching and stitching are
the same code as with the ``.pkl``.

``--format transformers`` writes a Hugging Face folder instead (config, safetensors
weights, fast tokenizer, model card) that plain ``transformers`` loads
(:mod:`enttag.tagging.hf_export`).

examples:
  enttag export --model models/tagger.pkl --out models/onnx
  enttag export --out models/onnx --int8
  enttag predict --model models/onnx --int8 "张三在北京大学工作。"
  enttag export --format transformers --out models/hf   # + metrics/test.json, params.yaml
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from enttag.atomic import atomic_dir, write_json
from enttag.baseline.marginals import CRF_FILE
from enttag.errors import EnttagError
from enttag.tagging import hf_export
from enttag.tagging.graph_meta import graph_props, stamp

HELP = "export a trained model to ONNX (optionally int8) or as a transformers folder"
FORMAT = "enttag-onnx/2"  # /2: probs (P(Ent), P(B | Ent)) out, tags in tagger.json
FORMATS = ("onnx", "transformers")
META = "tagger.json"
GRAPH = {False: "model.onnx", True: "model.int8.onnx"}
OPSET = 17


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="models/tagger.pkl",
        help="model file: the shipped tagger (fuse stage) or models/model.pkl, the encoder "
        "alone (default: %(default)s)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="onnx",
        help="onnx (enttag's fast path) or transformers (a Hugging Face folder); %(default)s",
    )
    parser.add_argument(
        "--out", help="folder to write (replaced atomically; models/onnx, or models/hf)"
    )
    parser.add_argument(
        "--int8", action="store_true", help="also write model.int8.onnx (dynamic quantisation)"
    )
    hf_export.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.format == "transformers":
        return hf_export.run(args)
    if args.metrics or args.params:
        raise EnttagError("--metrics and --params apply to --format transformers only")
    out = export(args.model, args.out or "models/onnx", int8=args.int8)
    print(" ".join(sorted(p.name for p in out.iterdir())), "->", out)
    return 0


def export(model_path: str | Path, out: str | Path, *, int8: bool = False) -> Path:
    """Write the export folder ``out`` for the ``.pkl`` at ``model_path``; returns ``out``."""
    import torch

    from enttag.model.network import model_from_checkpoint, read_checkpoint
    from enttag.tagging.backends import INPUTS, OUTPUT, PEnt

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
        if checkpoint.get("fusion"):
            (tmp / CRF_FILE).write_bytes(checkpoint["crf_model"])
    return Path(out)


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
        "tags": checkpoint["tags"],
        "max_length": checkpoint["max_length"],
        "stride": checkpoint["stride"],
        "threshold": checkpoint.get("threshold"),
        "fusion": checkpoint.get("fusion"),
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


def crf_model_of(folder: str | Path, meta: dict[str, Any]) -> bytes | None:
    """The CRF model a fused export carries (None for the encoder alone)."""
    if not meta.get("fusion"):
        return None
    path = Path(folder) / CRF_FILE
    if not path.is_file():
        raise EnttagError(f"{path}: not found; {META} fuses the encoder with this CRF model")
    return path.read_bytes()


def graph_path(folder: str | Path, int8: bool) -> Path:
    """The fp32 or int8 graph of an export folder."""
    path = Path(folder) / GRAPH[int8]
    if not path.is_file():
        hint = " (export with --int8)" if int8 else ""
        raise EnttagError(f"{path}: not found{hint}")
    return path
