"""Two trained taggers on the same test sentences: character Ent F1 and entity F1 (against
the corpus's entities), each tagger's and their paired differences.

Each model file (a shipped ``models/tagger.pkl`` or an encoder's ``models/model.pkl``)
tags the prepared test sentences through ``Tagger`` at its own default cut, as
``enttag predict`` does; both differences resample the same sentences (the evaluate
stage's bootstrap). Used to choose ``model.tags`` (``io`` against ``bio``):

    python benchmarks/paired_taggers.py --a bio/tagger.pkl --b io/tagger.pkl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from enttag.data.prepare import read_prepared
from enttag.errors import guarded
from enttag.labels import apply_threshold, bio_spans, labels_of_tags, tag_ids
from enttag.metrics.counts import sentence_counts
from enttag.report.bootstrap import entity_summary, paired_f1_diff, summary
from enttag.report.spans import predicted_entities
from enttag.tagging.tagger import Tagger


def tagged(model: Path, texts: list[str]) -> tuple[list[np.ndarray], list[list[tuple[int, int]]]]:
    """Ent/O labels at the tagger's default cut and its entities, per sentence."""
    tagger = Tagger.load(model, "cpu")
    outputs = tagger.outputs(texts)
    labels = [apply_threshold(p[:, 0], tagger.default_cut) for p in outputs]
    begins = [p[:, 1] for p in outputs] if tagger.tags == "bio" else None
    return labels, predicted_entities(labels, begins)


def compare(a: Path, b: Path, test: Path, n_boot: int, seed: int) -> dict:
    sentences = read_prepared(test)
    texts = [s.text for s in sentences]
    tags = [tag_ids(s.tags) for s in sentences]
    gold, entities = [labels_of_tags(t) for t in tags], [bio_spans(t) for t in tags]
    (pred_a, found_a), (pred_b, found_b) = tagged(a, texts), tagged(b, texts)
    chars_a = summary(gold, pred_a, n_boot=n_boot, seed=seed)
    chars_b = summary(gold, pred_b, n_boot=n_boot, seed=seed)
    counts = [sentence_counts(gold, p) for p in (pred_a, pred_b)]
    ents_a = entity_summary(entities, found_a, n_boot=n_boot, seed=seed, baseline=found_b)
    ents_b = entity_summary(entities, found_b, n_boot=n_boot, seed=seed)
    return {
        "sentences": len(texts),
        "a": {
            "ent_f1": chars_a["ent_f1"],
            "ent_f1_ci": chars_a["ent_f1_ci"],
            "entity_f1": ents_a["f1"],
            "entity_f1_ci": ents_a["f1_ci"],
        },
        "b": {
            "ent_f1": chars_b["ent_f1"],
            "ent_f1_ci": chars_b["ent_f1_ci"],
            "entity_f1": ents_b["f1"],
            "entity_f1_ci": ents_b["f1_ci"],
        },
        "a_minus_b_ent_f1": paired_f1_diff(*counts, n_boot=n_boot, seed=seed),
        "a_minus_b_entity_f1": ents_a["baseline_lift"] | {"beats": ents_a["beats_baseline"]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="a model file")
    parser.add_argument("--b", type=Path, required=True, help="the model file it is compared with")
    parser.add_argument("--test", type=Path, default=Path("data/prepared/test.jsonl"))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    result = compare(args.a, args.b, args.test, args.bootstrap, args.seed)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(guarded("paired_taggers", main))
