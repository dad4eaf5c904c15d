"""Stacking: the encoder's head also receives the CRF's marginal for each character.

The CRF's P(Ent) enters as a learned bias on the Ent logit: ``z_Ent = w.h + a * logit(P_crf)``
(``a`` learned at the head's learning rate, from 1). On train the marginals are
**out of fold**: the sentences are cut into ``--folds`` folds and each fold gets the
marginals of a CRF fitted (with the baseline stage's params) on the other folds, so the
head never learns to trust marginals the CRF memorised. On dev and test they are the
baseline stage's CRF (fitted on all of train, ``data/baseline/p_ent.npz``), as tagging
would use them. Everything else is the train stage's: the same encoder, steps, batches
(same data order), learning rates, schedule and best-dev-checkpoint rule; the P(Ent) cut
is chosen on dev as the fuse stage chooses a fusion's. It was measured with Ent/O labels
and stays an Ent/O experiment whatever ``model.tags`` says (one bias, on the Ent logit).

Used by ``benchmarks/fusion.py --stacking``, which scores it beside the encoder alone and
both fusion rules; run alone it prints the fold and training seconds:

    python benchmarks/stacking.py --repo . --folds 3 --jobs 2
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from enttag.baseline.crf import CrfBaseline
from enttag.data.prepare import read_prepared
from enttag.encode.batching import bucketed_batches, collate, iterate
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import CharSheet, EncodedSplit, gold_per_sentence
from enttag.labels import ARGMAX, ENT, apply_threshold
from enttag.metrics.counts import ent_prf
from enttag.metrics.threshold import best_threshold
from enttag.model.inference import resolve_device
from enttag.params import load_section
from enttag.training.loop import build_model, param_groups

EPS = 1e-6


@dataclass
class Stacked:
    """Per-sentence P(Ent) of the stacked tagger on dev and test, its dev cut and costs."""

    p_ent: dict[str, list[np.ndarray]]
    threshold: float
    fold_seconds: float
    train_seconds: float


class StackedHead(nn.Module):
    """The encoder + linear head, plus ``a * logit(P_crf)`` on the Ent logit."""

    def __init__(self, tagger: nn.Module):
        super().__init__()
        self.tagger = tagger
        self.a = nn.Parameter(torch.ones(()))

    def forward(self, input_ids, attention_mask, prior):
        logits = self.tagger(input_ids, attention_mask)
        bias = torch.zeros_like(logits)
        bias[..., ENT] = self.a * prior
        return logits + bias


def _fold_marginals(args: tuple) -> list[np.ndarray]:
    """Fit the CRF on ``fit`` sentences; its P(Ent) of each ``held`` text."""
    cfg, fit, held = args
    model = CrfBaseline(cfg.window, cfg.c1, cfg.c2, cfg.max_iterations).fit(fit)
    flat = model.probs(held)[:, 0]
    return np.split(flat, np.cumsum([len(t) for t in held])[:-1])


def out_of_fold(repo: Path, folds: int, jobs: int, seed: int) -> list[np.ndarray]:
    """Train P(Ent) per sentence, each from a CRF that never saw its sentence."""
    cfg = load_section("baseline", repo / "params.yaml")
    train = read_prepared(repo / "data/prepared/train.jsonl")
    fold = np.random.default_rng(seed).permutation(len(train)) % folds
    tasks = [
        (
            cfg,
            [s for s, f in zip(train, fold, strict=True) if f != k],
            [s.text for s, f in zip(train, fold, strict=True) if f == k],
        )
        for k in range(folds)
    ]
    out: list[np.ndarray] = [np.empty(0)] * len(train)
    with ProcessPoolExecutor(jobs) as pool:
        for k, marginals in enumerate(pool.map(_fold_marginals, tasks)):
            for i, p in zip(np.flatnonzero(fold == k), marginals, strict=True):
                out[i] = p
    return out


def window_priors(data: EncodedSplit, p_crf: list[np.ndarray]) -> torch.Tensor:
    """logit(P_crf) at every token of ``data.ids`` (0 at [CLS], [SEP])."""
    ptr, sent, start = data.ptr.numpy(), data.sent.numpy(), data.start.numpy()
    rows = []
    for w in range(len(data)):
        p = np.clip(p_crf[sent[w]][start[w] : start[w] + ptr[w + 1] - ptr[w] - 2], EPS, 1 - EPS)
        rows += [[0.0], np.log(p) - np.log1p(-p), [0.0]]
    return torch.tensor(np.concatenate(rows), dtype=torch.float32)


def batch_prior(prior: torch.Tensor, data: EncodedSplit, windows: list[int]) -> torch.Tensor:
    """The priors of ``windows``, padded with 0 like :func:`collate` pads ids."""
    ptr = data.ptr.tolist()
    width = max(ptr[w + 1] - ptr[w] for w in windows)
    out = torch.zeros((len(windows), width))
    for row, w in enumerate(windows):
        out[row, : ptr[w + 1] - ptr[w]] = prior[ptr[w] : ptr[w + 1]]
    return out


@torch.no_grad()
def stacked_p_ent(
    model: StackedHead, data: EncodedSplit, prior: torch.Tensor, pad: int, batch_size: int
) -> list[np.ndarray]:
    """P(Ent) of every character, each scored once (as ``model.inference.predict``)."""
    model.eval()
    sheet = CharSheet(data)
    for batch in iterate(data, batch_size, pad, shuffle=False):
        windows = batch["index"].tolist()
        logits = model(
            batch["input_ids"], batch["attention_mask"], batch_prior(prior, data, windows)
        )
        p_ent = torch.softmax(logits.float(), dim=-1)[..., ENT].numpy()
        for row, w in enumerate(windows):
            sheet.put(w, p_ent[row])
    return sheet.per_sentence()


def train_stacked(repo: Path, folds: int, jobs: int) -> Stacked:
    """Out-of-fold marginals, then the train stage's run with the CRF bias on the head."""
    cfg = load_section("train", repo / "params.yaml")
    model_cfg = dataclasses.replace(load_section("model", repo / "params.yaml"), tags="io")
    if model_cfg.head != "linear":
        raise SystemExit("stacking is measured with the linear head (model.head: linear)")
    t0 = time.perf_counter()
    oof = out_of_fold(repo, folds, jobs, cfg.seed)
    fold_seconds = time.perf_counter() - t0

    resolve_device("cpu")  # every core this process may use, as the train stage
    set_seed(cfg.seed)
    corpus = TokenizedCorpus.load(repo / "data/tokenized")
    baseline = np.load(repo / "data/baseline/p_ent.npz")
    gold, crf = {}, {"train": oof}
    for split in ("dev", "test"):
        gold[split] = gold_per_sentence(corpus.splits[split])
        crf[split] = np.split(baseline[split], np.cumsum([len(g) for g in gold[split]])[:-1])
    priors = {s: window_priors(corpus.splits[s], crf[s]) for s in ("train", "dev", "test")}
    tagger = build_model(corpus, repo / "models/encoder", model_cfg, cfg.dropout, cfg.freeze_layers)
    model = StackedHead(tagger)
    groups = param_groups(tagger, cfg)
    next(g for g in groups if g["name"] == "head_no_decay")["params"].append(model.a)
    optimizer = torch.optim.AdamW(groups, fused=True)
    train = corpus.splits["train"]
    total = min(cfg.epochs * math.ceil(len(train) / cfg.batch_size), cfg.max_steps or 1 << 62)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    weights = torch.tensor([cfg.ent_weight, cfg.o_weight])
    pad, best, step = corpus.specials.pad, (-1.0, None), 0
    t0 = time.perf_counter()
    with tqdm(total=total, desc="stacked train", unit="step") as bar:
        for epoch in range(cfg.epochs):
            order = bucketed_batches(
                train.lengths(), cfg.batch_size, shuffle=True, seed=cfg.seed + epoch
            )
            for windows in order:
                model.train()
                batch = collate(train, windows, pad)
                mask = batch["attention_mask"]
                logits = model(
                    batch["input_ids"], mask, batch_prior(priors["train"], train, windows)
                )
                loss, norm = tagger.loss_terms(logits, batch["tags"], mask, weights)
                (loss / norm).backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                bar.update()
                bar.set_postfix(loss=f"{float(loss / norm):.4f}", a=f"{float(model.a):.3f}")
                if step % cfg.eval_every == 0 or step == total:
                    dev = stacked_p_ent(model, corpus.splits["dev"], priors["dev"], pad, 64)
                    f1 = ent_prf(gold["dev"], apply_threshold(dev, ARGMAX))["ent_f1"]
                    tqdm.write(f"step {step}: dev Ent F1 {f1:.4f}, a {float(model.a):.3f}")
                    if f1 > best[0]:
                        best = (f1, copy.deepcopy(model.state_dict()))
                if step >= total:
                    break
            if step >= total:
                break
    train_seconds = time.perf_counter() - t0
    model.load_state_dict(best[1])
    p_ent = {s: stacked_p_ent(model, corpus.splits[s], priors[s], pad, 64) for s in ("dev", "test")}
    threshold, _ = best_threshold(gold["dev"], p_ent["dev"])
    return Stacked(p_ent, threshold, fold_seconds, train_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="CRF folds fitted at once")
    args = parser.parse_args()
    result = train_stacked(args.repo, args.folds, args.jobs)
    print(
        f"out-of-fold CRF fits: {result.fold_seconds:.0f} s; stacked training "
        f"{result.train_seconds:.0f} s; dev cut {result.threshold:.3f}"
    )


if __name__ == "__main__":
    main()
