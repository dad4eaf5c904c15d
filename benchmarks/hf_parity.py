"""The transformers export against enttag's Tagger on test sentences.

Exports the model (``enttag export --format transformers``) to a temporary folder, tags
the first ``--n`` test sentences that fit one window (at most ``max_length - 2``
characters: the pipeline does not window, enttag does) with Hugging Face's
``pipeline("token-classification")`` and with ``Tagger``, and reports the largest
difference between the pipeline's score of each character's class and enttag's
probability of that class, and the sentences whose ``aggregation_strategy="simple"``
spans differ from those of enttag's most probable classes (the pipeline takes the argmax
of the classes: ``Ent``/``O``, or ``B-Ent``/``I-Ent``/``O``).

    python benchmarks/hf_parity.py --model models/model.pkl --n 500 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from transformers import pipeline

from enttag.data.prepare import read_prepared
from enttag.errors import guarded
from enttag.labels import CLASSES, bio_spans, class_probs, spans
from enttag.tagging.hf_export import export_transformers
from enttag.tagging.tagger import Tagger


def argmax_spans(probs: np.ndarray, tags: str) -> list[tuple[int, int]]:
    """The entities of each character's most probable class."""
    best = probs.argmax(axis=1)
    return spans(best) if tags == "io" else bio_spans(best)  # class ids are label / tag ids


def parity(model: Path, test: Path, n: int, batch_size: int) -> dict:
    tagger = Tagger.load(model, "cpu")
    width = tagger.max_length - 2
    sentences = read_prepared(test)
    texts = [s.text for s in sentences if 0 < len(s.text) <= width][:n]
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_transformers(model, Path(tmp) / "hf")
        per_token = pipeline("token-classification", model=str(folder), ignore_labels=[])
        grouped = pipeline("token-classification", model=str(folder), aggregation_strategy="simple")
        tokens = per_token(texts, batch_size=batch_size)
        groups = grouped(texts, batch_size=batch_size)
    names = list(CLASSES[tagger.tags])
    diff, span_mismatches = 0.0, 0
    for text, row, out, group in zip(texts, tokens, tagger.outputs(texts), groups, strict=True):
        if [(t["start"], t["end"]) for t in row] != [(i, i + 1) for i in range(len(text))]:
            raise SystemExit(f"the export's tokens are not one per character: {text!r}")
        ours = class_probs(out, tagger.tags)
        theirs = np.array([t["score"] for t in row])
        mine = ours[np.arange(len(text)), [names.index(t["entity"]) for t in row]]
        diff = max(diff, float(np.abs(theirs - mine).max()))
        got = [(g["start"], g["end"]) for g in group]
        span_mismatches += got != argmax_spans(ours, tagger.tags)
    return {
        "model": str(model),
        "sentences": len(texts),
        "longer_than_a_window": sum(len(s.text) > width for s in sentences),
        "characters": sum(map(len, texts)),
        "max_abs_diff_class_prob": diff,
        "sentences_with_other_spans": span_mismatches,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/model.pkl")
    parser.add_argument("--test", default="data/prepared/test.jsonl")
    parser.add_argument("--n", type=int, default=500, help="sentences (that fit one window)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    result = parity(Path(args.model), Path(args.test), args.n, args.batch_size)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(guarded("hf_parity", main))
