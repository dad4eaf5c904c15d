"""Errors that name where bad input came from, and the one handler that prints them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


class EnttagError(Exception):
    """Base class for errors enttag reports to the user without a traceback."""


class InputError(EnttagError):
    """Bad input: names the file, the line (1-based, when known) and the cause."""

    def __init__(self, path: str | Path, cause: str, line: int | None = None):
        self.path, self.line, self.cause = str(path), line, cause
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {cause}")


class WriteError(EnttagError):
    """A failed write (full disk, file-size limit, read-only folder): names the file."""

    def __init__(self, path: str | Path, cause: str):
        self.path, self.cause = str(path), cause
        super().__init__(f"{path}: cannot write: {cause}")


def guarded(prog: str, main: Callable[[], int | None]) -> int:
    """Run ``main``; an :class:`EnttagError`, or an ``OSError`` naming a file, becomes one
    line on stderr and exit status 1."""
    try:
        return main() or 0
    except EnttagError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if e.filename is None:
            raise
        print(f"{prog}: error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 1
