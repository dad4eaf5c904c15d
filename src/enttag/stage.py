"""What every stage entry point shares: clean errors instead of tracebacks, and one stage
at a time per workspace."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from enttag.errors import EnttagError, guarded

LOCK = Path(".dvc/tmp/enttag-stage.lock")  # per workspace: DVC's queue runs each in its own


def run(main: Callable[[], None], name: str | None = None) -> None:
    """Call a stage's ``main`` under the workspace lock; report an EnttagError (or a failed
    write) as one line and exit 1.

    The line starts with ``name``, else the script's module name (``python -m stages.train``
    or ``python stages/train.py``: ``train``).
    """
    module = main.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        script = getattr(sys.modules["__main__"], "__file__", None)
        module = spec.name if spec else Path(script).stem if script else module
    prog = name or module.rpartition(".")[2]

    def locked() -> None:
        with workspace_lock(prog):
            main()

    sys.exit(guarded(prog, locked))


@contextmanager
def workspace_lock(prog: str) -> Iterator[None]:
    """Hold :data:`LOCK` while a stage runs; refuse at once if another stage holds it.

    Two runs in one workspace (two ``dvc exp run``, or a stage by hand beside one) write
    the same outputs. Outside a DVC repository, and in data-parallel ranks other than 0,
    there is no lock.
    """
    if not LOCK.parent.parent.is_dir() or os.environ.get("RANK", "0") != "0":
        yield
        return
    LOCK.parent.mkdir(exist_ok=True)
    with open(LOCK, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise EnttagError(
                f"another stage runs in this workspace ({holder}; lock {LOCK}): two runs at "
                "once overwrite each other's outputs; queue experiments with "
                "`dvc exp run --queue ...` and run them with `dvc exp run --run-all`"
            ) from None
        f.truncate(0)
        f.write(f"{prog}, pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
