"""What every stage entry point shares: clean errors instead of tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable

from enttag.errors import guarded


def run(main: Callable[[], None]) -> None:
    """Call a stage's ``main``; report an EnttagError as one line and exit 1."""
    module = main.__module__
    if module == "__main__":  # run as ``python -m stages.train``: name it by its spec
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec else module
    sys.exit(guarded(module.rpartition(".")[2], main))
