"""Cost of one training step under the levers that make steps cheaper, side by side.

In one process, on the same batches of the tokenized training split, times forward +
backward + AdamW step of the tagger built as the train stage builds it, for each
variant (``freeze_layers`` N: embeddings and the first N layers frozen; ``num_layers``
N: a shallower encoder; ``head``: crf; ``batch_size`` N: as many more steps as the batch
is smaller), round-robin so that load on the machine hits all variants alike. Reports
scored characters/s and the ratio to params.yaml's settings.

    dvc repro tokenize
    python benchmarks/step_cost.py [--steps 20] [--variant freeze_layers=2 ...]

Writes ``step_cost.json`` and ``step_cost.md`` to ``--out`` (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from enttag.atomic import write_json, write_text
from enttag.encode.batching import bucketed_batches, collate
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import IGNORE
from enttag.params import load_section
from enttag.training.loop import build_model, param_groups

DEFAULT_VARIANTS = ["freeze_layers=3", "num_layers=4", "head=crf", "batch_size=8"]
TRAIN_KEYS = ("freeze_layers", "batch_size")


def variant(spec: str, model_cfg, train_cfg):
    """(model params, train params) of one ``key=value,...`` variant ("" = params.yaml's)."""
    for item in filter(None, spec.split(",")):
        key, value = item.split("=")
        if key in TRAIN_KEYS:
            train_cfg = dataclasses.replace(train_cfg, **{key: int(value)})
        elif key == "num_layers":
            model_cfg = dataclasses.replace(model_cfg, num_layers=int(value))
        else:
            model_cfg = dataclasses.replace(model_cfg, **{key: value})
    return model_cfg, train_cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--variant", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--tokenized", type=Path, default=Path("data/tokenized"))
    parser.add_argument("--encoder", type=Path, default=Path("models/encoder"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    train_cfg, model_cfg = load_section("train"), load_section("model")
    torch.manual_seed(train_cfg.seed)
    corpus = TokenizedCorpus.load(args.tokenized, ("train",))
    data = corpus.splits["train"]
    weights = torch.tensor([train_cfg.ent_weight, train_cfg.o_weight])
    names = ["params.yaml", *args.variant]
    runs = {}
    for name in names:
        cfg, tcfg = variant("" if name == "params.yaml" else name, model_cfg, train_cfg)
        model = build_model(corpus, args.encoder, cfg, 0.0, tcfg.freeze_layers).train()
        optimizer = torch.optim.AdamW(param_groups(model, tcfg), fused=True)
        # as many windows for every batch size: steps scale as the batch shrinks
        steps = (args.steps + 2) * train_cfg.batch_size // tcfg.batch_size
        order = bucketed_batches(data.lengths(), tcfg.batch_size, shuffle=True, seed=0)
        batches = [collate(data, b, corpus.specials.pad) for b in order[:steps]]
        runs[name] = {"model": model, "optimizer": optimizer, "batches": batches}
        runs[name] |= {"seconds": 0.0, "chars": 0, "warm": 2 * len(batches) // (args.steps + 2)}

    for i in range(max(len(r["batches"]) for r in runs.values())):
        for run in runs.values():
            if i >= len(run["batches"]):
                continue
            batch = run["batches"][i]
            start = time.perf_counter()
            logits = run["model"](batch["input_ids"], batch["attention_mask"])
            total, norm = run["model"].loss_terms(
                logits, batch["tags"], batch["attention_mask"], weights
            )
            (total / norm).backward()
            run["optimizer"].step()
            run["optimizer"].zero_grad(set_to_none=True)
            if i >= run["warm"]:  # the first steps warm up allocators and kernels
                run["seconds"] += time.perf_counter() - start
                run["chars"] += int((batch["tags"] != IGNORE).sum())

    base = runs["params.yaml"]["chars"] / runs["params.yaml"]["seconds"]
    rows = {
        name: {
            "chars_per_s": round(r["chars"] / r["seconds"], 1),
            "speedup": round(r["chars"] / r["seconds"] / base, 3),
        }
        for name, r in runs.items()
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "step_cost.json", {"steps": args.steps, "variants": rows})
    lines = ["| variant | chars/s | × params.yaml |", "|---|---|---|"]
    lines += [f"| {n} | {r['chars_per_s']:,.0f} | {r['speedup']:.2f} |" for n, r in rows.items()]
    write_text(args.out / "step_cost.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
