from pathlib import Path

import pytest

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
        ("data", {"format": "csv"}, "data.format must be one of conll, cluener, got 'csv'"),
        ("tokenize", {"max_length": 16, "stride": 14}, "tokenize.stride must be <= max_length - 3"),
        ("model", {"prune_vocab": "yes"}, "model.prune_vocab must be bool, got 'yes'"),
    ],
)
def test_bad_values_name_key_value_and_allowed(section, raw, message):
    with pytest.raises(ParamsError) as e:
        parse_section(section, raw, SECTIONS[section])
    assert message in str(e.value)


def test_ints_are_accepted_for_floats_and_defaults_fill_in():
    cfg = parse_section("train", {"ent_weight": 4, "device": "cuda:1"}, TrainParams)
    assert cfg.ent_weight == 4.0 and isinstance(cfg.ent_weight, float)
    assert cfg.device == "cuda:1" and cfg.o_weight == 1.0


def test_missing_or_broken_params_file_names_the_file(tmp_path):
    with pytest.raises(InputError, match="params.yaml: file not found"):
        load_section("train", tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("train: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_section("train", tmp_path / "params.yaml")


def test_exponent_floats_as_dvc_writes_them(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  encoder_lr: 1e-05\n  head_lr: 5.0e-3\n")
    cfg = load_section("train", tmp_path / "params.yaml")
    assert cfg.encoder_lr == 1e-5 and cfg.head_lr == 5e-3
