import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.shipped import raw_section

from enttag.errors import InputError
from enttag.params import SECTIONS, ParamsError, TrainParams, load_section, parse_section

ROOT = Path(__file__).resolve().parents[1]


def test_every_section_of_the_shipped_params_is_valid():
    for name in SECTIONS:
        load_section(name, ROOT / "params.yaml")


@pytest.mark.parametrize(
    ("section", "raw", "message"),
    [
        ("train", {"ent_weight": -1}, "train.ent_weight must be > 0, got -1"),
        ("train", {"device": "tpu"}, "train.device must be auto, cpu, cuda or cuda:N, got 'tpu'"),
        ("train", {"precision": "fp8"}, "train.precision must be one of fp32, bf16, got 'fp8'"),
        ("train", {"warmup_ratio": 1.5}, "train.warmup_ratio must be in [0, 1), got 1.5"),
        ("train", {"batch_size": 2.5}, "train.batch_size must be int, got 2.5"),
        ("train", {"epochs": True}, "train.epochs must be int, got True"),
        ("train", {"lr": 1e-3}, "train.lr is not a known key"),
        ("prepare", {"max_train": "all"}, "prepare.max_train must be int or null, got 'all'"),
        ("prepare", {"dev_fraction": 0}, "prepare.dev_fraction must be in (0, 1), got 0"),
        (
            "data",
            {"format": "csv"},
            "data.format must be one of conll, cluener, label-studio, got 'csv'",
        ),
        ("tokenize", {"max_length": 16, "stride": 14}, "tokenize.stride must be <= max_length - 3"),
        ("model", {"prune_vocab": "yes"}, "model.prune_vocab must be bool, got 'yes'"),
    ],
)
def test_bad_values_name_key_value_and_allowed(section, raw, message):
    with pytest.raises(ParamsError) as e:
        parse_section(section, raw_section(section) | raw, SECTIONS[section])
    assert message in str(e.value)


def test_ints_are_accepted_for_floats():
    cfg = parse_section("train", raw_section("train") | {"ent_weight": 4}, TrainParams)
    assert cfg.ent_weight == 4.0 and isinstance(cfg.ent_weight, float)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_rejected(value):
    with pytest.raises(ParamsError, match="train.encoder_lr must be a finite number"):
        parse_section("train", raw_section("train") | {"encoder_lr": value}, TrainParams)


def test_a_missing_key_is_an_error_not_a_default():
    raw = raw_section("train")
    del raw["batch_size"]
    with pytest.raises(ParamsError, match="train.batch_size is missing"):
        parse_section("train", raw, TrainParams)
    for empty in (None, [], 0):
        with pytest.raises(ParamsError, match="train must be a mapping"):
            parse_section("train", empty, TrainParams)


def test_a_typo_in_any_section_fails_whichever_section_is_read(tmp_path):
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(text.replace("  bootstrap:", "  bootsrap:"))
    with pytest.raises(ParamsError, match="evaluate.bootsrap is not a known key"):
        load_section("train", tmp_path / "params.yaml")


def test_missing_or_broken_params_file_names_the_file(tmp_path):
    with pytest.raises(InputError, match="params.yaml: file not found"):
        load_section("train", tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("train: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_section("train", tmp_path / "params.yaml")


def test_exponent_floats_as_dvc_writes_them(tmp_path):
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    text = re.sub(r"encoder_lr: \S+", "encoder_lr: 1e-05", text)
    (tmp_path / "params.yaml").write_text(re.sub(r"head_lr: \S+", "head_lr: 5.0e-3", text))
    cfg = load_section("train", tmp_path / "params.yaml")
    assert cfg.encoder_lr == 1e-5 and cfg.head_lr == 5e-3


def test_reading_every_section_imports_no_torch():
    """Validation never imports torch nor probes devices (train checks its device itself)."""
    code = (
        "import sys; from enttag.params import load_params; load_params('params.yaml'); "
        "print('torch' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
