"""What every stage entry point shares: clean errors instead of tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from enttag.errors import guarded


def run(main: Callable[[], None], name: str | None = None) -> None:
    """Call a stage's ``main``; report an EnttagError (or a failed write) as one line, exit 1.

    The line starts with ``name``, else the script's module name (``python -m stages.train``
    or ``python stages/train.py``: ``train``).
    """
    module = main.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        script = getattr(sys.modules["__main__"], "__file__", None)
        module = spec.name if spec else Path(script).stem if script else module
    sys.exit(guarded(name or module.rpartition(".")[2], main))
