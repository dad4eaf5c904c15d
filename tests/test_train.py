"""train() on the tiny encoder: the saved model is the best dev evaluation's, early stopping
stops where it should, and several epochs run in full.

The dev evaluation is wrapped: the real one runs (real loss, real model), then its Ent F1
and P(Ent) are replaced by a script, so the best evaluation is known in advance and later
evaluations are worse on purpose. Each scripted evaluation has its own P(Ent), which makes
its F1-best threshold a value that names it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from support.corpus import prepare_tiny
from support.shipped import section

from enttag.encode.tokenized import TokenizedCorpus, tokenize_corpus
from enttag.errors import EnttagError
from enttag.labels import ENT
from enttag.model.network import read_checkpoint
from enttag.training import loop as train_module

EVAL_EVERY = 2


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory, tiny_encoder) -> Path:
    root = tmp_path_factory.mktemp("train")
    prepared = prepare_tiny(root / "prepared", 8, 4, 2, long_every=4)
    cfg = section("tokenize", max_length=32, stride=8)
    tokenize_corpus(prepared, tiny_encoder, root / "tokenized", cfg, prune_vocab=True)
    return root / "tokenized"


def scripted_dev(monkeypatch, f1s: list[float]) -> list[dict]:
    """Replace the dev evaluation by the real one with the k-th Ent F1 set to ``f1s[k]``.

    P(Ent) of the k-th evaluation is 0.1 + 0.05 k on gold Ent characters and 0.01 elsewhere,
    so its F1-best threshold is exactly that value. Returns the record of each evaluation:
    its step, a snapshot of the weights, what was returned and that threshold.
    """
    real = train_module.evaluate_dev
    record: list[dict] = []

    def fake(model, corpus, gold, *args, **kwargs):
        dev = real(model, corpus, gold, *args, **kwargs)
        k = len(record)
        p_ent = 0.1 + 0.05 * k
        probs = [np.where(g == ENT, p_ent, 0.01).astype(np.float32) for g in gold]
        dev = {**dev, "ent_f1": f1s[k], "probs": probs}
        state = copy.deepcopy({n: t.detach().cpu() for n, t in model.state_dict().items()})
        record.append({"dev": dev, "state": state, "threshold": float(np.float32(p_ent))})
        return dev

    monkeypatch.setattr(train_module, "evaluate_dev", fake)
    return record


def run_train(tmp_path: Path, tokenized: Path, encoder: Path, **changes) -> tuple[dict, dict]:
    cfg = section(
        "train",
        **{
            "batch_size": 4,
            "max_steps": None,
            "eval_every": EVAL_EVERY,
            "log_every": 1,
            "warmup_ratio": 0.0,
            "encoder_lr": 1e-3,
            "head_lr": 1e-2,
            "device": "cpu",
            "precision": "fp32",
            **changes,
        },
    )
    summary = train_module.train(
        cfg,
        replace(section("model"), name=str(encoder), num_layers=None, prune_vocab=True),
        tokenized_dir=tokenized,
        encoder_dir=encoder,
        model_path=tmp_path / "model.pkl",
        live_dir=tmp_path / "dvclive",
        timing_path=tmp_path / "timing.json",
        checkpoint_dir=tmp_path / "checkpoints",
    )
    return summary, read_checkpoint(tmp_path / "model.pkl")


def steps_per_epoch(tokenized: Path, batch_size: int) -> int:
    windows = len(TokenizedCorpus.load(tokenized, ("train",)).splits["train"])
    return math.ceil(windows / batch_size)


def assert_same_weights(saved: dict, snapshot: dict) -> None:
    assert saved.keys() == snapshot.keys()
    for name, tensor in snapshot.items():
        assert torch.equal(saved[name], tensor), name


def test_the_best_dev_evaluation_is_saved_and_patience_stops_training(
    tmp_path, tokenized, tiny_encoder, monkeypatch
):
    per_epoch = steps_per_epoch(tokenized, 4)
    assert per_epoch >= 4, "the tiny corpus must give several steps per epoch"
    # evaluations every EVAL_EVERY steps; the best one falls in the second epoch, the two
    # after it are worse, so patience 2 stops there: the 0.9s never happen
    b = per_epoch // EVAL_EVERY + 1  # index of the best evaluation
    f1s = [0.1 + 0.01 * i for i in range(b)] + [0.6, 0.5, 0.4] + [0.9] * 20
    record = scripted_dev(monkeypatch, f1s)
    summary, checkpoint = run_train(tmp_path, tokenized, tiny_encoder, epochs=4, patience=2)

    best = record[b]
    assert per_epoch < (b + 1) * EVAL_EVERY <= 2 * per_epoch  # the best is in epoch 2
    assert len(record) == b + 3
    assert summary["best_step"] == (b + 1) * EVAL_EVERY
    assert summary["steps"] == (b + 3) * EVAL_EVERY and summary["stopped_early"] is True
    assert_same_weights(checkpoint["state_dict"], best["state"])
    with pytest.raises(AssertionError):  # training did move on after the best step
        assert_same_weights(checkpoint["state_dict"], record[-1]["state"])
    assert checkpoint["threshold"] == pytest.approx(best["threshold"])
    expected = {k: v for k, v in best["dev"].items() if k != "probs"}
    assert checkpoint["train"]["dev"] == expected == summary["dev"]
    assert checkpoint["train"]["dev"]["loss"] != record[-1]["dev"]["loss"]
    assert checkpoint["train"]["best_step"] == (b + 1) * EVAL_EVERY


def test_several_epochs_run_in_full_without_patience(
    tmp_path, tokenized, tiny_encoder, monkeypatch
):
    per_epoch = steps_per_epoch(tokenized, 4)
    epochs = 2
    total = epochs * per_epoch
    evals = total // EVAL_EVERY + (total % EVAL_EVERY != 0)  # every EVAL_EVERY and the last
    f1s = [0.5] * evals
    f1s[evals // 2] = 0.8  # best in the middle of the run, no early stop without patience
    record = scripted_dev(monkeypatch, f1s)
    seen: list[int] = []  # windows collated in each epoch
    real_batches, real_collate = train_module.bucketed_batches, train_module.collate

    def new_epoch(*args, **kwargs):
        seen.append(0)
        return real_batches(*args, **kwargs)

    def counting(data, indices, *args, **kwargs):
        seen[-1] += len(indices)
        return real_collate(data, indices, *args, **kwargs)

    monkeypatch.setattr(train_module, "bucketed_batches", new_epoch)
    monkeypatch.setattr(train_module, "collate", counting)
    summary, checkpoint = run_train(tmp_path, tokenized, tiny_encoder, epochs=epochs, patience=None)

    windows = len(TokenizedCorpus.load(tokenized, ("train",)).splits["train"])
    assert seen == [windows] * epochs  # every epoch sees every training window once
    assert summary["steps"] == total and summary["stopped_early"] is False
    assert len(record) == evals
    best_step = min((evals // 2 + 1) * EVAL_EVERY, total)
    assert summary["best_step"] == best_step
    assert_same_weights(checkpoint["state_dict"], record[evals // 2]["state"])
    assert checkpoint["threshold"] == pytest.approx(record[evals // 2]["threshold"])


def test_frozen_layers_keep_their_pretrained_weights(tmp_path, tokenized, tiny_encoder):
    _, checkpoint = run_train(tmp_path, tokenized, tiny_encoder, epochs=1, freeze_layers=1)
    corpus = TokenizedCorpus.load(tokenized, ("train",))
    model_cfg = replace(section("model"), num_layers=None)
    start = train_module.build_model(corpus, tiny_encoder, model_cfg, 0.0, 0).state_dict()
    saved = checkpoint["state_dict"]
    frozen = [n for n in start if n.startswith(("encoder.embeddings.", "encoder.encoder.layer.0."))]
    trained = [n for n in start if n.startswith("encoder.encoder.layer.1.")]
    assert frozen and trained
    for name in frozen:
        assert torch.equal(saved[name], start[name]), name
    assert all(not torch.equal(saved[n], start[n]) for n in trained if n.endswith(".weight"))
    with pytest.raises(EnttagError, match="freeze_layers is 3 but the encoder has 2 layers"):
        train_module.build_model(corpus, tiny_encoder, model_cfg, 0.0, 3)
