"""The generated pages of the documentation site: the parameter and the CLI reference.

The parameter reference is read from ``params.yaml`` itself (each key's value and its
comment) and from the checks in :mod:`enttag.params`; the CLI reference is what
``enttag --help`` and each ``enttag COMMAND --help`` print. Neither can drift from the code.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import os
import re
from contextlib import contextmanager
from typing import get_type_hints

from enttag.params import SECTIONS, _hint_name

HELP_COLUMNS = 80  # the width the CLI reference is wrapped at, whatever the terminal
_SECTION = re.compile(r"^([A-Za-z_]\w*):\s*(?:#.*)?$")
_KEY = re.compile(r"^\s+([A-Za-z_]\w*):\s*(.*?)\s*(?:#\s?(.*))?$")


@dataclasses.dataclass(frozen=True)
class Param:
    """One documented key of ``params.yaml``."""

    section: str
    key: str
    value: str  # as written in params.yaml
    meaning: str  # its comment

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


class ParamsReferenceError(ValueError):
    """A ``params.yaml`` key without a comment or unknown to the code, or an unreadable line."""


def read_params(text: str) -> list[Param]:
    """Every ``section.key`` of a ``params.yaml`` text, with its value and comment, in order."""
    params, section = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if top := _SECTION.match(line):
            section = top.group(1)
        elif (key := _KEY.match(line)) and section is not None:
            name, value, comment = key.groups()
            if not comment:
                raise ParamsReferenceError(f"params.yaml:{number}: {section}.{name} has no comment")
            params.append(Param(section, name, value, comment.strip()))
        else:
            raise ParamsReferenceError(f"params.yaml:{number}: not a 'key: value  # meaning' line")
    return params


def _cell(text: str) -> str:
    """Table-cell text: ``<TAB>`` stays text, ``|`` does not end the cell."""
    return html.escape(text, quote=False).replace("|", "\\|")


def params_markdown(text: str) -> str:
    """The parameter reference: one table per section, in ``params.yaml``'s order."""
    by_section: dict[str, list[Param]] = {}
    for param in read_params(text):
        by_section.setdefault(param.section, []).append(param)
    out = []
    for section, params in by_section.items():
        cls = SECTIONS.get(section)
        if cls is None:
            raise ParamsReferenceError(f"params.yaml: {section} is not a section of enttag.params")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = get_type_hints(cls)
        out += [f"### `{section}`", "", cls.__doc__.strip(), ""]
        out += ["| key | value | allowed | meaning |", "|---|---|---|---|"]
        for p in params:
            if p.key not in fields:
                raise ParamsReferenceError(f"params.yaml: {p.name} is not a key of enttag.params")
            check = fields[p.key].metadata.get("allowed")
            allowed = _hint_name(hints[p.key]) + (f", {check}" if check else "")
            value = p.value.replace("|", "\\|")  # a code span: shown as written
            out.append(f"| `{p.name}` | `{value}` | {_cell(allowed)} | {_cell(p.meaning)} |")
        out.append("")
    return "\n".join(out)


@contextmanager
def _help_width(columns: int):
    """argparse wraps help at ``$COLUMNS``; fix it so the page does not depend on a terminal."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def command_helps(top: argparse.ArgumentParser) -> dict[str, str]:
    """``{"enttag": its --help, "enttag predict": its --help, ...}`` at ``HELP_COLUMNS``."""
    with _help_width(HELP_COLUMNS):
        helps = {top.prog: top.format_help()}
        for action in top._subparsers._group_actions:  # argparse keeps subcommands only here
            for name, sub in action.choices.items():
                helps[f"{top.prog} {name}"] = sub.format_help()
    return helps


def cli_markdown(top: argparse.ArgumentParser) -> str:
    """The CLI reference: every command's ``--help``, verbatim."""
    out = []
    for command, text in command_helps(top).items():
        out += [f"## `{command}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(out)
