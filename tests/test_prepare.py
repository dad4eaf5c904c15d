"""Tests for enttag.data.prepare: splits, caps, stats, and the JSON-lines round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from enttag.data.prepare import read_prepared, split_corpus, split_stats, write_prepared
from enttag.data.readers import Sentence
from enttag.errors import EnttagError, InputError


def sentences(prefix: str, n: int) -> list[Sentence]:
    """n sentences "<prefix><i>", the first character an entity."""
    return [Sentence(f"{prefix}{i}", ("Ent",) + ("O",) * len(str(i))) for i in range(n)]


TRAIN, DEV, TEST = sentences("t", 100), sentences("d", 10), sentences("s", 20)
NO_CAPS = {"max_train": None, "max_dev": None, "max_test": None}


def test_given_dev_is_kept_whole() -> None:
    splits = split_corpus(TRAIN, DEV, TEST, dev_fraction=0.1, seed=1, **NO_CAPS)
    assert splits == {"train": TRAIN, "dev": DEV, "test": TEST}


def test_carve_dev_is_seeded_and_ordered() -> None:
    first = split_corpus(TRAIN, None, TEST, dev_fraction=0.2, seed=7, **NO_CAPS)
    again = split_corpus(TRAIN, None, TEST, dev_fraction=0.2, seed=7, **NO_CAPS)
    other = split_corpus(TRAIN, None, TEST, dev_fraction=0.2, seed=8, **NO_CAPS)
    assert first == again
    assert first["dev"] != other["dev"]
    assert (len(first["train"]), len(first["dev"])) == (80, 20)
    assert set(first["train"]).isdisjoint(first["dev"])
    assert set(first["train"]) | set(first["dev"]) == set(TRAIN)
    for name in ("train", "dev"):
        assert first[name] == [s for s in TRAIN if s in first[name]]
    assert first["test"] == TEST


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5])
def test_carve_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(EnttagError, match="dev_fraction"):
        split_corpus(TRAIN, None, TEST, dev_fraction=fraction, seed=1, **NO_CAPS)


def test_caps_take_seeded_ordered_subsets() -> None:
    caps = {"max_train": 30, "max_dev": 5, "max_test": 100}
    splits = split_corpus(TRAIN, DEV, TEST, dev_fraction=0.1, seed=3, **caps)
    assert split_corpus(TRAIN, DEV, TEST, dev_fraction=0.1, seed=3, **caps) == splits
    assert [len(splits[n]) for n in ("train", "dev", "test")] == [30, 5, 20]
    assert splits["train"] == [s for s in TRAIN if s in splits["train"]]
    assert splits["dev"] == [s for s in DEV if s in splits["dev"]]
    assert splits["test"] == TEST
    assert splits["train"] != TRAIN[:30]


def test_carved_sentences_left_out_of_dev_go_back_to_train() -> None:
    capped = split_corpus(
        TRAIN, None, TEST, dev_fraction=0.2, seed=3, max_train=None, max_dev=5, max_test=None
    )
    full = split_corpus(TRAIN, None, TEST, dev_fraction=0.2, seed=3, **NO_CAPS)
    assert len(capped["dev"]) == 5 and set(capped["dev"]) <= set(full["dev"])
    assert len(capped["train"]) == 95  # the 15 carved but capped out train, none is lost
    assert capped["train"] == [s for s in TRAIN if s not in capped["dev"]]


def test_cap_of_one_split_leaves_others_alone() -> None:
    small = split_corpus(
        TRAIN, None, TEST, dev_fraction=0.2, seed=3, max_train=10, max_dev=None, max_test=None
    )
    full = split_corpus(TRAIN, None, TEST, dev_fraction=0.2, seed=3, **NO_CAPS)
    assert small["dev"] == full["dev"]
    assert set(small["train"]) <= set(full["train"])


@pytest.mark.parametrize(
    ("dev", "caps", "empty"),
    [
        (None, {**NO_CAPS, "max_dev": 0}, "dev"),
        ([], NO_CAPS, "dev"),
        (DEV, {**NO_CAPS, "max_test": 0}, "test"),
    ],
)
def test_empty_split_is_an_error(dev: list[Sentence] | None, caps: dict, empty: str) -> None:
    with pytest.raises(EnttagError, match=f"the {empty} split is empty"):
        split_corpus(TRAIN, dev, TEST, dev_fraction=0.1, seed=1, **caps)


def test_carving_too_small_a_fraction_is_an_error() -> None:
    with pytest.raises(EnttagError, match="the dev split is empty"):
        split_corpus(TRAIN[:3], None, TEST, dev_fraction=0.1, seed=1, **NO_CAPS)


def test_stats_add_up() -> None:
    test = [Sentence("张三李四好", ("B", "I", "B", "I", "O"))]
    splits = {"train": TRAIN, "dev": DEV, "test": test}
    stats = split_stats(splits, {"name": "toy", "sentences_before_caps": 131})
    assert stats["corpus"] == {"name": "toy", "sentences_before_caps": 131}
    assert stats["test"] == {
        "sentences": 1,
        "characters": 5,
        "ent_characters": 4,
        "ent_share": 0.8,
        "entities": 2,
    }
    for name, split in splits.items():
        counts = stats[name]
        assert counts["sentences"] == len(split)
        assert counts["characters"] == sum(len(s.text) for s in split)
        assert counts["ent_characters"] == sum(s.labels.count("Ent") for s in split)
        assert counts["ent_share"] == round(counts["ent_characters"] / counts["characters"], 6)
    assert stats["train"]["ent_characters"] == stats["train"]["entities"] == 100


def test_write_read_round_trip(tmp_path: Path) -> None:
    splits = {
        "train": [Sentence("张三李四\u3000说", ("B", "I", "B", "I", "O", "O"))] + TRAIN[:3],
        "dev": DEV,
        "test": TEST,
    }
    stats = split_stats(splits, {"name": "toy"})
    out = tmp_path / "prepared"
    write_prepared(splits, out, stats)
    assert sorted(p.name for p in out.iterdir()) == [
        "dev.jsonl",
        "stats.json",
        "test.jsonl",
        "train.jsonl",
    ]
    first = (out / "train.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first) == {
        "text": "张三李四\u3000说",
        "labels": ["Ent", "Ent", "Ent", "Ent", "O", "O"],
        "tags": ["B", "I", "B", "I", "O", "O"],
    }
    assert "张三" in first
    assert json.loads((out / "stats.json").read_text(encoding="utf-8")) == stats
    for name, split in splits.items():
        assert read_prepared(out / f"{name}.jsonl") == split


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ('{"text": "甲"', "invalid JSON"),
        ('{"text": "甲", "labels": ["O", "O"], "tags": ["O"]}', "1 characters but 2 labels"),
        ('{"text": "甲", "labels": ["O"], "tags": ["O", "O"]}', "1 characters but 2 tags"),
        ('{"text": "甲", "labels": ["Ent"], "tags": ["B-PER"]}', "unknown tag"),
        ('{"text": "甲", "tags": ["O"]}', 'a list "labels"'),
        ('{"text": "甲", "labels": ["O"], "tags": "O"}', '"tags" is not a list'),
        ('{"text": "甲", "labels": ["B"]}', "unknown label 'B'; expected one of ('Ent', 'O')"),
        ('{"text": "甲", "labels": ["B"], "tags": ["B"]}', "unknown label 'B'"),
        (
            '{"text": "甲乙", "labels": ["Ent", "Ent"], "tags": ["B", "O"]}',
            "label 'Ent' of character 1 disagrees with its tag 'O' (B and I are Ent, O is O)",
        ),
        ('{"text": "甲", "labels": ["O"], "tags": ["I"]}', "label 'O' of character 0 disagrees"),
        ('["甲", ["O"]]', "expected an object"),
    ],
)
def test_read_prepared_errors_name_line(tmp_path: Path, bad: str, cause: str) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "甲", "labels": ["O"], "tags": ["O"]}\n' + bad + "\n", "utf-8")
    with pytest.raises(InputError) as info:
        read_prepared(path)
    assert info.value.line == 2
    assert cause in info.value.cause
    assert str(info.value).startswith(f"{path}:2: ")
    assert "\n" not in str(info.value)


def test_rows_without_tags_read_one_entity_per_run_of_ent(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(
        '{"text": "张三李四说", "labels": ["Ent", "Ent", "Ent", "Ent", "O"]}\n', "utf-8"
    )
    assert read_prepared(path) == [Sentence("张三李四说", ("B", "I", "I", "I", "O"))]


def test_read_prepared_empty_or_missing(tmp_path: Path) -> None:
    (tmp_path / "dev.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no sentences"):
        read_prepared(tmp_path / "dev.jsonl")
    with pytest.raises(InputError, match="cannot read file"):
        read_prepared(tmp_path / "missing.jsonl")
