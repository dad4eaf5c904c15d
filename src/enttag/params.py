"""Typed, validated sections of ``params.yaml``.

Each stage reads only its own sections::

    cfg = load_section("train")          # -> TrainParams
    cfg.ent_weight                       # float, already checked

A bad value fails with a message naming the key, the value and what is
allowed, e.g. ``train.ent_weight must be > 0, got -1``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
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


def _param(check: Callable[[Any], bool] | None = None, allowed: str = "") -> Any:
    """A field with no default (params.yaml holds every value) and an optional range check."""
    return field(metadata={"check": check, "allowed": allowed})


def positive() -> Any:
    return _param(lambda v: v > 0, "> 0")


def non_negative() -> Any:
    return _param(lambda v: v >= 0, ">= 0")


def fraction() -> Any:
    return _param(lambda v: 0 <= v < 1, "in [0, 1)")


def one_of(*choices: str) -> Any:
    return _param(lambda v: v in choices, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class DataParams:
    """Where the corpus lives and how it is written."""

    dir: str
    train: str
    dev: str | None
    test: str
    format: str = one_of("conll", "cluener", "label-studio")


@dataclass(frozen=True)
class PrepareParams:
    """Split sizes and the seed for carving dev from train."""

    max_train: int | None = positive()
    max_dev: int | None = positive()
    max_test: int | None = positive()
    dev_fraction: float = _param(lambda v: 0 < v < 1, "in (0, 1)")
    seed: int = non_negative()


@dataclass(frozen=True)
class ModelParams:
    """Which encoder, and how much of it."""

    name: str
    num_layers: int | None = positive()
    prune_vocab: bool
    head: str = one_of("linear", "crf")
    tags: str = one_of("io", "bio")


@dataclass(frozen=True)
class TokenizeParams:
    """Window size and overlap for long sentences."""

    max_length: int = _param(lambda v: v >= 8, ">= 8")
    stride: int = non_negative()

    def __post_init__(self) -> None:
        if self.stride > self.max_length - 3:
            raise ParamsError(
                f"tokenize.stride must be <= max_length - 3 = {self.max_length - 3}, "
                f"got {self.stride}"
            )


@dataclass(frozen=True)
class TrainParams:
    """The optimisation: loss weights, learning rates, schedule, device."""

    seed: int = non_negative()
    epochs: int = positive()
    max_steps: int | None = positive()
    batch_size: int = positive()
    encoder_lr: float = positive()
    head_lr: float = positive()
    weight_decay: float = non_negative()
    warmup_ratio: float = fraction()
    max_grad_norm: float = positive()
    dropout: float = fraction()
    freeze_layers: int = non_negative()
    ent_weight: float = positive()
    o_weight: float = positive()
    eval_every: int = positive()
    log_every: int = positive()
    checkpoint_every: int = positive()
    patience: int | None = positive()
    device: str = _param(
        lambda v: v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()),
        "auto, cpu, cuda or cuda:N",
    )
    processes: int = positive()
    precision: str = one_of("fp32", "bf16")


@dataclass(frozen=True)
class BaselineParams:
    """The classic baseline: a linear-chain CRF (default) or a logistic regression."""

    kind: str = one_of("crf", "lr")
    window: int = non_negative()
    c1: float = non_negative()
    c2: float = non_negative()
    max_iterations: int = positive()
    c: float = positive()
    max_iter: int = positive()


@dataclass(frozen=True)
class FuseParams:
    """The shipped tagger: the encoder alone, or its P(Ent) mixed with the CRF's."""

    kind: str = one_of("none", "crf")
    rule: str = one_of("auto", "linear", "logodds")
    weight_step: float = _param(
        lambda v: 0 < v <= 0.5 and abs(1 / v - round(1 / v)) < 1e-4, "1/N for a whole N >= 2"
    )


@dataclass(frozen=True)
class EvaluateParams:
    """Scoring: batch size, bootstrap, and the error report."""

    batch_size: int = positive()
    bootstrap: int = positive()
    seed: int = non_negative()
    n_errors: int = non_negative()
    n_correct: int = non_negative()


SECTIONS: dict[str, type] = {
    "data": DataParams,
    "prepare": PrepareParams,
    "model": ModelParams,
    "tokenize": TokenizeParams,
    "train": TrainParams,
    "baseline": BaselineParams,
    "fuse": FuseParams,
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


def parse_section(name: str, raw: Any, cls: type[T]) -> T:
    """Build ``cls`` from a raw mapping, checking that every key is there, and types and ranges.

    ``params.yaml`` is the only source of values: a missing key is an error, not a default.
    """
    if not isinstance(raw, dict):
        raise ParamsError(f"{name} must be a mapping of its keys, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(f"{name}.{unknown[0]} is not a known key; allowed: {', '.join(fields)}")
    missing = [key for key in fields if key not in raw]
    if missing:
        raise ParamsError(f"{name}.{missing[0]} is missing (params.yaml documents every key)")
    values = {}
    for key, f in fields.items():
        value, hint = raw[key], hints[key]
        if not _type_ok(value, hint):
            raise ParamsError(f"{name}.{key} must be {_hint_name(hint)}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamsError(f"{name}.{key} must be a finite number, got {value!r}")
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and float in (get_args(hint) or (hint,))
        ):
            value = float(value)
        stored = as_float32(f"{name}.{key}", value) if isinstance(value, float) else value
        check = f.metadata.get("check")
        if value is not None and check is not None and not (check(value) and check(stored)):
            in32 = f" ({stored!r} in float32)" if stored != value else ""
            raise ParamsError(f"{name}.{key} must be {f.metadata['allowed']}, got {value!r}{in32}")
        values[key] = value
    return cls(**values)


def as_float32(key: str, value: float) -> float:
    """``value`` as training holds it (a float32 tensor); ParamsError if float32 cannot."""
    try:
        stored = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # some Pythons refuse to pack it rather than round it to inf
        stored = math.copysign(math.inf, value)
    if not math.isfinite(stored):
        raise ParamsError(
            f"{key} is {value!r}, which float32 cannot hold ({stored}); "
            "use a number of magnitude below 3.4e+38"
        )
    return stored


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Read ``params.yaml`` and validate every section, so a typo anywhere fails at once."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except FileNotFoundError as e:
        raise InputError(path, "file not found") from e
    except yaml.YAMLError as e:
        raise InputError(path, f"not valid YAML: {e}") from e
    if not isinstance(doc, dict):
        raise InputError(path, "expected a mapping of sections")
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise ParamsError(f"{unknown[0]} is not a known section; allowed: {', '.join(SECTIONS)}")
    return {name: parse_section(name, doc.get(name), cls) for name, cls in SECTIONS.items()}


def load_section(name: str, path: str | Path = PARAMS_FILE) -> Any:
    """One validated section of ``params.yaml`` (every section is checked)."""
    return load_params(path)[name]


def as_dict(section: Any) -> dict[str, Any]:
    """A plain dict of a params section (for saving beside a model)."""
    return dataclasses.asdict(section)
