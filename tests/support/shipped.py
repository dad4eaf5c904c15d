"""The shipped params.yaml, the only source of parameter values, for tests to vary."""

from __future__ import annotations

from typing import Any

import yaml

from enttag.params import SECTIONS, parse_section

from .process import ROOT


def raw_section(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))[name])


def section(name: str, **changes: Any) -> Any:
    """One section of the shipped params.yaml with ``changes``, validated."""
    return parse_section(name, raw_section(name) | changes, SECTIONS[name])
