"""The defects of issue 19's fault and input probe, one test (or more) per row, by class."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from shipped import raw_section

from enttag.cli import main
from enttag.data.prepare import split_corpus
from enttag.data.readers import Sentence
from enttag.errors import EnttagError
from enttag.params import SECTIONS, ParamsError, parse_section

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def ent(text: str) -> Sentence:
    return Sentence(text, ("Ent",) + ("O",) * (len(text) - 1))


def plain(text: str) -> Sentence:
    return Sentence(text, ("O",) * len(text))


# ---------------------------------------------------------------- rows 1, 2: splits without Ent


def test_row1_a_carved_dev_without_ent_is_refused_naming_the_params():
    train = [ent("甲乙")] + [plain(f"丙{i}") for i in range(40)]  # one entity sentence
    with pytest.raises(EnttagError) as e:
        split_corpus(
            train,
            None,
            [ent("丁戊")],
            dev_fraction=0.5,
            seed=0,
            max_train=None,
            max_dev=3,
            max_test=None,
        )
    message = str(e.value)
    assert "\n" not in message
    assert "dev split has no Ent" in message
    assert "prepare.dev_fraction" in message and "prepare.max_dev" in message


@pytest.mark.parametrize("split", ["train", "test"])
def test_row2_a_cap_that_leaves_a_split_without_ent_is_refused(split):
    many = [ent("甲乙")] + [plain(f"丙{i}") for i in range(60)]
    splits = {"train": many, "test": [ent("丁戊")]} | {split: many}
    with pytest.raises(EnttagError) as e:
        split_corpus(
            splits["train"],
            [ent("己庚")],
            splits["test"],
            dev_fraction=0.1,
            seed=0,
            max_train=2 if split == "train" else None,
            max_dev=None,
            max_test=2 if split == "test" else None,
        )
    assert f"the {split} split has no Ent characters" in str(e.value)
    assert f"prepare.max_{split}=2" in str(e.value)


# ---------------------------------------------------------------- row 6: float32 params


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ent_weight", 1e39, "train.ent_weight is 1e+39, which float32 cannot hold (inf)"),
        ("o_weight", -1e39, "train.o_weight is -1e+39, which float32 cannot hold (-inf)"),
        ("encoder_lr", 1e-50, "train.encoder_lr must be > 0, got 1e-50 (0.0 in float32)"),
    ],
)
def test_row6_numbers_are_checked_as_float32(key, value, message):
    with pytest.raises(ParamsError) as e:
        parse_section("train", raw_section("train") | {key: value}, SECTIONS["train"])
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_row6_float32_limits_themselves_pass():
    cfg = parse_section("train", raw_section("train") | {"ent_weight": 3e38}, SECTIONS["train"])
    assert cfg.ent_weight == 3e38


# ---------------------------------------------------------------- row 11: journal outside DVC


def test_row11_journal_outside_a_dvc_repository_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["journal"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not inside of a DVC repository" in err
    assert not (tmp_path / "EXPERIMENTS.md").exists()
