"""What every stage entry point shares: clean errors instead of tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable

from enttag.errors import guarded


def run(main: Callable[[], None]) -> None:
    """Call a stage's ``main``; report an EnttagError as one line and exit 1."""
    # run as ``python -m stages.x``, the module is __main__; its spec keeps the real name
    spec = getattr(sys.modules.get(main.__module__), "__spec__", None)
    sys.exit(guarded((spec.name if spec else main.__module__).rpartition(".")[2], main))
