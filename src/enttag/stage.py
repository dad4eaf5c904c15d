"""What every stage entry point shares: clean errors instead of tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable

from enttag.errors import EnttagError


def run(main: Callable[[], object]) -> None:
    """Call a stage's ``main``; report an :class:`EnttagError` as one line and exit 1."""
    try:
        main()
    except EnttagError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
