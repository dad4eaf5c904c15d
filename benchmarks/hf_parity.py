"""The transformers export against enttag's Tagger on test sentences.

Exports the model (``enttag export --format transformers``) to a temporary folder, tags
the first ``--n`` test sentences that fit one window (at most ``max_length - 2``
characters: the pipeline does not window, enttag does) with Hugging Face's
``pipeline("token-classification")`` and with ``Tagger``, and reports the largest
|ΔP(Ent)| over their characters and the sentences whose ``aggregation_strategy="simple"``
spans differ from enttag's.

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
from enttag.tagging.hf_export import export_transformers
from enttag.tagging.tagger import Tagger


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
    ours, our_spans = tagger.probs(texts), tagger.spans(texts)
    diff, span_mismatches = 0.0, 0
    for text, row, p, group, spans in zip(texts, tokens, ours, groups, our_spans, strict=True):
        if [(t["start"], t["end"]) for t in row] != [(i, i + 1) for i in range(len(text))]:
            raise SystemExit(f"the export's tokens are not one per character: {text!r}")
        theirs = np.array([t["score"] if t["entity"] == "Ent" else 1 - t["score"] for t in row])
        diff = max(diff, float(np.abs(theirs - p).max()))
        span_mismatches += [(g["start"], g["end"]) for g in group] != [s[:2] for s in spans]
    return {
        "model": str(model),
        "sentences": len(texts),
        "longer_than_a_window": sum(len(s.text) > width for s in sentences),
        "characters": sum(map(len, texts)),
        "max_abs_diff_p_ent": diff,
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
