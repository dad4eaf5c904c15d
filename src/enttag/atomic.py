"""One helper for every file enttag writes: write beside the target, then rename.

A reader (or DVC) never sees a half-written file, and a killed stage leaves the
previous output, or nothing, in place: its temporary sibling (named after the target
and the writer's process id) is removed by the next write of the same target. A write
that fails (a full disk, a file-size limit, a read-only folder: an ``OSError``, or
``torch.save``'s own error) raises one :class:`~enttag.errors.WriteError` naming the target.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from enttag.errors import WriteError

# errors that only a write raises, whichever file they name
WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}
TORCH_SAVE_ERRORS = ("inline_container", "PytorchStreamWriter")  # torch.save's RuntimeErrors


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(path: Path) -> None:
    """Remove temporary siblings of ``path`` left by writers that no longer run."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp) if tmp.is_dir() and not tmp.is_symlink() else tmp.unlink()


@contextmanager
def failed_write(path: Path, tmp: Path | None = None) -> Iterator[None]:
    """An error of writing ``path`` (through ``tmp``) inside becomes a WriteError naming it."""
    try:
        yield
    except OSError as e:
        names = [Path(n) for n in (e.filename, e.filename2) if n is not None]
        ours = [path, path.parent, *([tmp] if tmp else [])]
        if e.errno in WRITE_ERRNOS or any(
            n in ours or n.name.startswith(f".{path.name}.") or (tmp and tmp in n.parents)
            for n in names
        ):
            raise WriteError(path, e.strerror or str(e)) from e
        raise
    except RuntimeError as e:
        if not any(marker in str(e) for marker in TORCH_SAVE_ERRORS):
            raise
        first = str(e).strip().splitlines()[0]
        raise WriteError(path, f"torch.save failed ({first}); is the disk full?") from e


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success."""
    path = Path(path)
    tmp_path = None
    with failed_write(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path)
        fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
    try:
        with failed_write(path, tmp_path):
            tmp_path.chmod(0o666 & ~UMASK)  # as a plain open() would, not mkstemp's 0600
            yield tmp_path
            os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; it replaces ``path`` on success."""
    path = Path(path)
    with failed_write(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path)
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        with failed_write(path, tmp):
            tmp.chmod(0o777 & ~UMASK)
            yield tmp
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_with(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> Path:
    return write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
