"""Sentences several windows long, end to end through `dvc repro`: every character is
scored once, so each split's report supports add up to its character count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from support.corpus import tiny_sentences, write_conll
from support.repo import make_repo

pytestmark = pytest.mark.slow

MAX_LENGTH, STRIDE = 16, 4  # 14 characters per window


@pytest.fixture(scope="module")
def long_repo(tmp_path_factory, tiny_encoder) -> tuple[Path, dict[str, int]]:
    corpus = tmp_path_factory.mktemp("long-corpus")
    train, test = tiny_sentences(16, seed=5, long_every=1), tiny_sentences(5, seed=6, long_every=1)
    write_conll(corpus / "train.txt", train)
    write_conll(corpus / "test.txt", test)
    repo = make_repo(
        tmp_path_factory.mktemp("long") / "repo",
        corpus,
        tiny_encoder,
        {
            "prepare": {"dev_fraction": 0.25},
            "tokenize": {"max_length": MAX_LENGTH, "stride": STRIDE},
            "train": {"max_steps": 2, "eval_every": 2, "batch_size": 8},
            "evaluate": {"bootstrap": 20},
        },
        target="evaluate",
    )
    lengths = {"train+dev": sum(map(len, train)), "test": sum(map(len, test))}
    return repo, lengths


def test_every_character_of_long_sentences_is_scored_once(long_repo):
    repo, lengths = long_repo
    tokenize = json.loads((repo / "metrics/tokenize.json").read_text())
    stats = json.loads((repo / "data/prepared/stats.json").read_text())
    assert stats["test"]["characters"] == lengths["test"]
    assert stats["train"]["characters"] + stats["dev"]["characters"] == lengths["train+dev"]
    for split in ("dev", "test"):
        report = tokenize[split]
        assert report["longest_sentence"] > 3 * (MAX_LENGTH - 2)  # several windows long
        assert report["windows"] >= 3 * report["sentences"]
        assert report["scored_positions"] == stats[split]["characters"]
        metrics = json.loads((repo / f"metrics/{split}_report.json").read_text())
        supports = metrics["Ent"]["support"] + metrics["O"]["support"]
        assert supports == stats[split]["characters"]
        confusion = metrics["confusion"]
        assert sum(n for row in confusion.values() for n in row.values()) == supports
        assert metrics["entities"]["gold"] == stats[split]["entities"]
    errors = [json.loads(line) for line in (repo / "metrics/errors_test.jsonl").open()]
    for row in errors:  # per-sentence predictions are aligned with the text
        assert all(text == row["text"][s:e] for s, e, text in row["pred_spans"])
    checkpoint = torch.load(repo / "models/model.pkl", weights_only=True)
    assert (checkpoint["max_length"], checkpoint["stride"]) == (MAX_LENGTH, STRIDE)
