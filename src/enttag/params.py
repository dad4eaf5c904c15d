"""Typed, validated sections of ``params.yaml``.

Each stage reads only its own sections::

    cfg = load_section("train")          # -> TrainParams
    cfg.ent_weight                       # float, already checked

A bad value fails with a message naming the key, the value and what is
allowed, e.g. ``train.ent_weight must be > 0, got -1``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args, get_type_hints

import yaml

from enttag.errors import EnttagError, InputError

PARAMS_FILE = Path("params.yaml")


class _Loader(yaml.SafeLoader):
    """YAML 1.2 floats too: ``dvc exp run -S train.encoder_lr=1e-5`` writes ``1e-05``,
    which PyYAML's YAML 1.1 rules would read as a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
        |[-+]?[0-9][0-9_]*\.[0-9_]*|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


class ParamsError(EnttagError):
    """A params.yaml value of the wrong type or out of range."""


def _param(default: Any, check: Callable[[Any], bool] | None = None, allowed: str = "") -> Any:
    return field(default=default, metadata={"check": check, "allowed": allowed})


def positive(default: Any) -> Any:
    return _param(default, lambda v: v > 0, "> 0")


def non_negative(default: Any) -> Any:
    return _param(default, lambda v: v >= 0, ">= 0")


def fraction(default: Any) -> Any:
    return _param(default, lambda v: 0 <= v < 1, "in [0, 1)")


def one_of(default: str, *choices: str) -> Any:
    return _param(default, lambda v: v in choices, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class DataParams:
    """Where the corpus lives and how it is written."""

    dir: str = "data/raw/msra"
    train: str = "train.txt"
    dev: str | None = None
    test: str = "test.txt"
    format: str = one_of("conll", "conll", "cluener")


@dataclass(frozen=True)
class PrepareParams:
    """Split sizes and the seed for carving dev from train."""

    max_train: int | None = positive(None)
    max_dev: int | None = positive(None)
    max_test: int | None = positive(None)
    dev_fraction: float = _param(0.05, lambda v: 0 < v < 1, "in (0, 1)")
    seed: int = 0


@dataclass(frozen=True)
class ModelParams:
    """Which encoder, and how much of it."""

    name: str = "builtin:multilingual-e5-small"
    num_layers: int | None = positive(None)
    prune_vocab: bool = True


@dataclass(frozen=True)
class TokenizeParams:
    """Window size and overlap for long sentences."""

    max_length: int = _param(128, lambda v: v >= 8, ">= 8")
    stride: int = non_negative(32)

    def __post_init__(self) -> None:
        if self.stride > self.max_length - 3:
            raise ParamsError(
                f"tokenize.stride must be <= max_length - 3 = {self.max_length - 3}, "
                f"got {self.stride}"
            )


@dataclass(frozen=True)
class TrainParams:
    """The optimisation: loss weights, learning rates, schedule, device."""

    seed: int = 0
    epochs: int = positive(1)
    max_steps: int | None = positive(None)
    batch_size: int = positive(32)
    encoder_lr: float = positive(5e-5)
    head_lr: float = positive(1e-3)
    weight_decay: float = non_negative(0.01)
    warmup_ratio: float = fraction(0.1)
    max_grad_norm: float = positive(1.0)
    dropout: float = fraction(0.0)
    ent_weight: float = positive(1.0)
    o_weight: float = positive(1.0)
    eval_every: int = positive(200)
    log_every: int = positive(10)
    patience: int | None = positive(None)
    device: str = _param(
        "auto",
        lambda v: v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()),
        "auto, cpu, cuda or cuda:N",
    )
    precision: str = one_of("fp32", "fp32", "bf16")


@dataclass(frozen=True)
class BaselineParams:
    """The character-window logistic regression baseline."""

    window: int = non_negative(2)
    c: float = positive(1.0)
    max_iter: int = positive(200)


@dataclass(frozen=True)
class EvaluateParams:
    """Scoring: batch size, bootstrap, and the error report."""

    batch_size: int = positive(64)
    bootstrap: int = positive(1000)
    seed: int = 0
    n_errors: int = non_negative(50)


SECTIONS: dict[str, type] = {
    "data": DataParams,
    "prepare": PrepareParams,
    "model": ModelParams,
    "tokenize": TokenizeParams,
    "train": TrainParams,
    "baseline": BaselineParams,
    "evaluate": EvaluateParams,
}

T = TypeVar("T")


def _type_ok(value: Any, hint: Any) -> bool:
    """True if ``value`` fits a simple annotation (int, float, str, bool, or X | None)."""
    kinds = get_args(hint) or (hint,)
    if value is None:
        return type(None) in kinds
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, tuple(k for k in kinds if k is not type(None)))


def _hint_name(hint: Any) -> str:
    kinds = get_args(hint) or (hint,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def parse_section(name: str, raw: dict[str, Any] | None, cls: type[T]) -> T:
    """Build ``cls`` from a raw mapping, checking names, types and ranges."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{name} must be a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(f"{name}.{unknown[0]} is not a known key; allowed: {', '.join(fields)}")
    values = {}
    for key, f in fields.items():
        value = raw.get(key, f.default)
        hint = hints[key]
        if not _type_ok(value, hint):
            raise ParamsError(f"{name}.{key} must be {_hint_name(hint)}, got {value!r}")
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and float in (get_args(hint) or (hint,))
        ):
            value = float(value)
        check = f.metadata.get("check")
        if value is not None and check is not None and not check(value):
            raise ParamsError(f"{name}.{key} must be {f.metadata['allowed']}, got {value!r}")
        values[key] = value
    return cls(**values)


def load_section(name: str, path: str | Path = PARAMS_FILE) -> Any:
    """Read and validate one section of ``params.yaml``."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except FileNotFoundError as e:
        raise InputError(path, "file not found") from e
    except yaml.YAMLError as e:
        raise InputError(path, f"not valid YAML: {e}") from e
    return parse_section(name, doc.get(name), SECTIONS[name])


def as_dict(section: Any) -> dict[str, Any]:
    """A plain dict of a params section (for saving beside a model)."""
    return dataclasses.asdict(section)
