"""The fusion ablation and the cost of fusion at tagging time, on a reproduced repo.

Ablation: the encoder alone, the CRF alone and each fusion rule with its weight and
P(Ent) cut chosen on dev (as the fuse stage does), scored on dev and test: Ent F1 with
its sentence-bootstrap interval, the paired lift over the CRF on the same resampled
sentences, and exact-match span F1. Speed: ``Tagger.load(models/tagger.pkl)`` (the
shipped, fused tagger) against ``Tagger.load(models/model.pkl)`` (the encoder alone) on
the same test texts, passes taking turns; characters/s and their ratio.

    python benchmarks/fusion.py                 # in a repo after dvc repro
    python benchmarks/fusion.py --repo /path/to/repo --n 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from enttag.data.prepare import read_prepared
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import gold_per_sentence
from enttag.fusion import choose, weight_grid
from enttag.labels import apply_threshold
from enttag.model.inference import predict
from enttag.model.network import model_from_checkpoint, read_checkpoint
from enttag.params import load_section
from enttag.report.bootstrap import summary
from enttag.report.spans import span_scores
from enttag.tagging.tagger import Tagger


def ablation(repo: Path, n_boot: int) -> list[dict]:
    """One row per system: dev and test Ent F1, CI, lift over the CRF, span F1."""
    model = model_from_checkpoint(read_checkpoint(repo / "models/model.pkl"))
    corpus = TokenizedCorpus.load(repo / "data/tokenized", ("dev", "test"))
    baseline = np.load(repo / "data/baseline/p_ent.npz")
    gold, enc, crf = {}, {}, {}
    for split in ("dev", "test"):
        data = corpus.splits[split]
        gold[split] = gold_per_sentence(data)
        enc[split], _ = predict(
            model, data, batch_size=64, pad_id=corpus.specials.pad, device=torch.device("cpu")
        )
        crf[split] = np.split(baseline[split], np.cumsum([len(g) for g in gold[split]])[:-1])
    step = load_section("fuse", repo / "params.yaml").weight_step
    systems = {"encoder alone": None, "CRF alone": "crf"}
    for rule in ("linear", "logodds"):
        fusion, _ = choose(
            gold["dev"],
            np.concatenate(enc["dev"]),
            np.concatenate(crf["dev"]),
            (rule,),
            weight_grid(step),
        )
        systems[f"{rule} fusion (w={fusion.weight:g}, cut {fusion.threshold:.3f})"] = fusion
    rows = []
    for name, system in systems.items():
        row = {"system": name}
        for split in ("dev", "test"):
            if system is None:
                pred = apply_threshold(enc[split], 0.5)
            elif system == "crf":
                pred = apply_threshold(crf[split], 0.5)
            else:
                mixed = [system.mix(e, c) for e, c in zip(enc[split], crf[split], strict=True)]
                pred = apply_threshold(mixed, system.threshold)
            base = apply_threshold(crf[split], 0.5)
            stats = summary(gold[split], pred, n_boot=n_boot, seed=0, baseline_seqs=base)
            row[split] = {
                "ent_f1": stats["ent_f1"],
                "ci": stats["ent_f1_ci"],
                "lift": stats["baseline_lift"]["ent_f1_diff"],
                "lift_ci": stats["baseline_lift"]["ci"],
                "span_f1": span_scores(gold[split], pred)["f1"],
            }
        rows.append(row)
    return rows


def speed(repo: Path, n: int, repeats: int) -> dict[str, float]:
    """Characters/s of the fused tagger and of the encoder alone, best of ``repeats``."""
    texts = [s.text for s in read_prepared(repo / "data/prepared/test.jsonl")][:n]
    chars = sum(map(len, texts))
    taggers = {
        "fused": Tagger.load(repo / "models/tagger.pkl", device="cpu"),
        "encoder": Tagger.load(repo / "models/model.pkl", device="cpu"),
    }
    best = dict.fromkeys(taggers, float("inf"))
    for _ in range(repeats):
        for name, tagger in taggers.items():  # turns: a change in load hits both
            start = time.perf_counter()
            tagger.tag(texts)
            best[name] = min(best[name], time.perf_counter() - start)
    rates = {name: chars / seconds for name, seconds in best.items()}
    return rates | {"ratio": rates["fused"] / rates["encoder"], "chars": chars}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--n", type=int, default=1000, help="test texts for the speed run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| system | dev Ent F1 | test Ent F1 [95% CI] | lift over the CRF (test) | span F1 |")
    print("|---|---|---|---|---|")
    for row in ablation(args.repo, args.bootstrap):
        dev, test = row["dev"], row["test"]
        print(
            f"| {row['system']} | {dev['ent_f1']:.4f} | {test['ent_f1']:.4f} "
            f"[{test['ci'][0]:.4f}, {test['ci'][1]:.4f}] | {test['lift']:+.4f} "
            f"[{test['lift_ci'][0]:+.4f}, {test['lift_ci'][1]:+.4f}] | {test['span_f1']:.4f} |"
        )
    rates = speed(args.repo, args.n, args.repeats)
    print(
        f"\ntagging {rates['chars']:,} test characters: fused {rates['fused']:,.0f} chars/s, "
        f"encoder alone {rates['encoder']:,.0f} chars/s, ratio {rates['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
