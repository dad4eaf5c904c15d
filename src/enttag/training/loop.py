"""The training loop: read it top to bottom.

Encoder + linear head, class-weighted cross-entropy, AdamW with separate
encoder and head learning rates, linear warm-up and decay, gradient clipping,
periodic dev evaluation with early stopping on dev Ent F1. The best dev
checkpoint is the one saved. Wall-clock figures (duration, throughput) go only to
the timing file, so the model file and the step logs are the same bytes on a re-run.

Faults: a resume checkpoint (see :mod:`enttag.training.resume`) is written every
``checkpoint_every`` steps, at each dev evaluation and on SIGINT/SIGTERM; the
same command resumes from it and ends with the same bytes as an uninterrupted
run. A non-finite loss or gradient norm stops training at once.

Under torchrun it is one of several data-parallel processes (see
:mod:`enttag.training.distributed`): rank 0 alone logs, evaluates and writes.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from dvclive import Live
from enttag.atomic import write_json
from enttag.encode.batching import bucketed_batches, collate
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import IGNORE, gold_per_sentence
from enttag.errors import EnttagError
from enttag.labels import ARGMAX, apply_threshold
from enttag.metrics.counts import ent_prf
from enttag.metrics.threshold import best_threshold
from enttag.model.inference import autocast, predict
from enttag.model.network import (
    EntityTagger,
    class_weights,
    freeze_lower,
    load_encoder,
    prune_embeddings,
    save_model,
)
from enttag.params import ModelParams, TrainParams, as_dict
from enttag.training import distributed
from enttag.training.resume import Checkpoints, StopSignals, set_rng_states


class Diverged(EnttagError):
    """The loss or the gradient norm is no longer a finite number."""


@dataclass
class Best:
    """The best dev evaluation so far."""

    step: int = 0
    f1: float = -1.0
    state: dict | None = None
    scores: dict | None = None
    threshold: float | None = None


@dataclass
class Progress:
    """Where the loop is: everything besides model, optimiser and schedule that a resume needs."""

    step: int = 0
    epoch: int = 0
    position: int = 0  # index of the next batch in this epoch's batch order
    running: float = 0.0  # training-loss sum since the last log point
    running_n: int = 0
    evals_without_gain: int = 0


def param_groups(model: EntityTagger, cfg: TrainParams) -> list[dict]:
    """Encoder and head at their own learning rates; no weight decay on biases and norms."""
    groups = []
    for name, module, lr in (
        ("encoder", model.encoder, cfg.encoder_lr),
        ("head", model.head, cfg.head_lr),
    ):
        params = [p for p in module.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups.append({"name": name, "params": decay, "lr": lr, "weight_decay": cfg.weight_decay})
        groups.append(
            {"name": f"{name}_no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0}
        )
    return [g for g in groups if g["params"]]


def build_model(
    corpus: TokenizedCorpus,
    encoder_dir: Path,
    model_cfg: ModelParams,
    dropout: float,
    freeze_layers: int,
) -> EntityTagger:
    encoder = load_encoder(encoder_dir, model_cfg.num_layers, dropout)
    if corpus.kept_ids is not None:
        prune_embeddings(encoder, corpus.kept_ids, corpus.specials.pad)
    freeze_lower(encoder, freeze_layers)
    return EntityTagger(encoder, dropout, model_cfg.head, model_cfg.tags)


def evaluate_dev(
    model, corpus: TokenizedCorpus, gold: list[np.ndarray], weights, device, cfg
) -> dict:
    dev = predict(
        model,
        corpus.splits["dev"],
        batch_size=2 * cfg.batch_size,
        pad_id=corpus.specials.pad,
        device=device,
        precision=cfg.precision,
        class_weights=weights,
    )
    pred = apply_threshold(dev.p_ent, ARGMAX)
    return {"loss": dev.loss, **ent_prf(gold, pred), "probs": dev.p_ent}


def diverged(step: int, loss: float, grad_norm: float, optimizer) -> Diverged:
    """The error naming the step, loss, gradient norm and learning rates."""
    lrs = {g["name"].removesuffix("_no_decay"): g["lr"] for g in optimizer.param_groups}
    rates = ", ".join(f"{name} {lr:.3g}" for name, lr in lrs.items())
    return Diverged(
        f"training diverged at step {step}: loss {loss:.4g}, gradient norm {grad_norm:.4g} "
        f"(learning rates: {rates}); no model written. Lower train.encoder_lr/head_lr "
        "or train.max_grad_norm"
    )


def train(cfg: TrainParams, model_cfg: ModelParams, **paths: Path) -> dict:
    """Train; log step metrics to ``live_dir`` (dvclive); save the best model to ``model_path``.

    Resumes from a matching checkpoint in ``checkpoint_dir``; removes it once the model is saved.
    SIGINT/SIGTERM, from the start, stop at a step boundary with a checkpoint.
    """
    with StopSignals() as signals:
        return _train(cfg, model_cfg, signals=signals, **paths)


def _train(
    cfg: TrainParams,
    model_cfg: ModelParams,
    *,
    signals: StopSignals,
    tokenized_dir: Path,
    encoder_dir: Path,
    model_path: Path,
    live_dir: Path,
    timing_path: Path,
    checkpoint_dir: Path,
) -> dict | None:
    """Train; log step metrics to ``live_dir`` (dvclive); save the best model to ``model_path``.

    The duration and throughput go to ``timing_path`` (the one output that changes between
    runs of the same params), never into the model file or the step logs.
    Resumes from a matching checkpoint in ``checkpoint_dir``; removes it once the model is saved.
    Returns the summary; None in a data-parallel process other than rank 0.
    """
    # -- setup: device, seed, data, model, optimiser, schedule -------------------------------
    procs, device = distributed.setup(cfg.device)
    set_seed(cfg.seed)
    corpus = TokenizedCorpus.load(tokenized_dir, ("train", "dev"))
    train_data, dev_gold = corpus.splits["train"], gold_per_sentence(corpus.splits["dev"])
    model = build_model(corpus, encoder_dir, model_cfg, cfg.dropout, cfg.freeze_layers).to(device)
    weights = class_weights(model_cfg.tags, cfg.ent_weight, cfg.o_weight).to(device)
    optimizer = torch.optim.AdamW(param_groups(model, cfg), fused=device.type in ("cpu", "cuda"))
    steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.warmup_ratio * total_steps), total_steps
    )

    # -- resume: a checkpoint of this very run (same params, data, encoder) continues it ------
    params = {"train": as_dict(cfg), "model": as_dict(model_cfg)}
    checkpoints = Checkpoints(checkpoint_dir, params, [tokenized_dir, encoder_dir])
    at, best, stop = Progress(), Best(), False
    saved = procs.from_main(checkpoints.load() if procs.main else None)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        at, best = Progress(**saved["progress"]), Best(**saved["best"])
    forward = procs.wrap(model)  # DDP over the model when distributed
    live = None
    if procs.main:
        live = Live(
            dir=str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None, resume=bool(saved)
        )
    if saved is not None and procs.main:
        checkpoints.restore(saved, live)  # RNG states too: nothing may draw from them before
    elif saved is not None:
        set_rng_states(saved["rng"])
    chars, t0 = 0, time.perf_counter()
    progress = tqdm(
        total=total_steps,
        initial=at.step,
        desc="train",
        unit="step",
        dynamic_ncols=True,
        disable=not procs.main,
    )

    def save_checkpoint() -> None:
        if procs.main:  # rank 0's state is every process's
            checkpoints.save(
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                progress=vars(at),
                best=vars(best),
                live=live,
            )

    # -- the loop -------------------------------------------------------------------------
    with progress:  # closed first: a message after the bar starts on its own line
        for epoch in range(at.epoch, cfg.epochs):
            if epoch != at.epoch:
                at.epoch, at.position = epoch, 0
            batches = bucketed_batches(
                train_data.lengths(), cfg.batch_size, shuffle=True, seed=cfg.seed + epoch
            )
            model.train()
            while at.position < len(batches):
                batch = collate(train_data, batches[at.position], corpus.specials.pad)
                share = procs.share(batch)  # all of it for one process
                input_ids = share["input_ids"].to(device)
                tags, mask = share["tags"].to(device), share["attention_mask"].to(device)
                with autocast(device, cfg.precision):
                    logits = forward(input_ids, mask)
                loss, loss_value = procs.mean(
                    *model.loss_terms(logits.float(), tags, mask, weights)
                )
                loss.backward()
                grad_norm = float(nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm))
                if not (math.isfinite(loss_value) and math.isfinite(grad_norm)):
                    checkpoints.remove()  # resuming would diverge again
                    raise diverged(at.step + 1, loss_value, grad_norm, optimizer)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                at.step += 1
                at.position += 1

                at.running += loss_value
                at.running_n += 1
                chars += int((batch["tags"] != IGNORE).sum())
                progress.update()
                rate = chars / (time.perf_counter() - t0)
                progress.set_postfix(loss=f"{loss_value:.4f}", chars_per_s=f"{rate:,.0f}")
                if procs.main:
                    live.step = at.step
                if at.step % cfg.log_every == 0 and procs.main:
                    live.log_metric("fit/loss", at.running / at.running_n)
                    live.log_metric("fit/lr_encoder", scheduler.get_last_lr()[0])
                    at.running, at.running_n = 0.0, 0

                evaluated = at.step % cfg.eval_every == 0 or at.step == total_steps
                if evaluated and procs.main:
                    dev = evaluate_dev(model, corpus, dev_gold, weights, device, cfg)
                    for key in ("loss", "ent_precision", "ent_recall", "ent_f1"):
                        live.log_metric(f"dev/{key}", dev[key])
                    if dev["ent_f1"] > best.f1:
                        threshold, _ = best_threshold(
                            np.concatenate(dev_gold), np.concatenate(dev["probs"])
                        )
                        scores = {k: v for k, v in dev.items() if k != "probs"}
                        best = Best(
                            at.step,
                            dev["ent_f1"],
                            copy.deepcopy(model.state_dict()),
                            scores,
                            threshold,
                        )
                        at.evals_without_gain = 0
                    else:
                        at.evals_without_gain += 1
                    stop = cfg.patience is not None and at.evals_without_gain >= cfg.patience
                    tqdm.write(
                        f"step {at.step}: dev loss {dev['loss']:.4f}, Ent F1 {dev['ent_f1']:.4f}"
                        f"{' (best)' if best.step == at.step else ''}"
                    )
                    model.train()
                stop = procs.any(stop)  # rank 0 decides; every process stops together
                if stop or at.step >= total_steps:
                    break
                if procs.any(signals.received is not None):
                    save_checkpoint()
                    raise EnttagError(
                        f"interrupted at step {at.step}; run the same command to resume"
                    )
                if evaluated or at.step % cfg.checkpoint_every == 0:
                    save_checkpoint()
            if stop or at.step >= total_steps:
                break

    del forward  # DDP's Reducer holds the process group: free it before the group goes
    procs.close()
    if not procs.main:
        return None

    # -- the result: the best dev checkpoint ---------------------------------------------------
    model.load_state_dict(best.state)
    summary = {
        "best_step": best.step,
        "steps": at.step,
        "stopped_early": stop,
        "dev": best.scores,
    }
    seconds = time.perf_counter() - t0
    timing = {"train_seconds": round(seconds, 1), "train_chars_per_s": round(chars / seconds, 1)}
    write_json(timing_path, timing)
    save_model(
        model_path,
        model,
        char_map=corpus.char_map,
        specials=corpus.specials,
        max_length=corpus.max_length,
        stride=corpus.stride,
        extra={"threshold": best.threshold, "train": summary, "params": params},
    )
    live.end()
    checkpoints.remove()
    return summary | timing
