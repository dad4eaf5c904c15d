"""prepare: read the corpus, keep its entities as B/I/O tags and Ent/O labels, write the splits
and their counts."""

import sys
from pathlib import Path

from enttag.data.prepare import (
    check_labelled,
    overlap_warning,
    split_corpus,
    split_stats,
    write_prepared,
)
from enttag.data.readers import read_corpus
from enttag.errors import EnttagError
from enttag.params import load_section
from enttag.stage import run


def corpus_file(root: Path, key: str, name: str) -> Path:
    """``data.dir / name``, refused when outside ``data.dir`` (DVC tracks only that folder)."""
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):
        raise EnttagError(
            f"data.{key} {name!r} is outside data.dir {str(root)!r}, so DVC would not track it; "
            "set data.dir to the folder holding the corpus files (any absolute path works)"
        )
    return path


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def main() -> None:
    data, cfg = load_section("data"), load_section("prepare")
    root = Path(data.dir)
    paths = {key: corpus_file(root, key, getattr(data, key)) for key in ("train", "test")}
    if data.dev:
        paths["dev"] = corpus_file(root, "dev", data.dev)
    read = {key: read_corpus(path, data.format, warn) for key, path in paths.items()}
    for key, sentences in read.items():
        check_labelled(paths[key], sentences)
    if "dev" in paths:
        warning = overlap_warning(paths["dev"], read["dev"], paths["test"], read["test"])
        if warning:
            warn(warning)
    train, dev, test = read["train"], read.get("dev"), read["test"]
    splits = split_corpus(
        train,
        dev,
        test,
        dev_fraction=cfg.dev_fraction,
        seed=cfg.seed,
        max_train=cfg.max_train,
        max_dev=cfg.max_dev,
        max_test=cfg.max_test,
    )
    corpus = {
        "dir": data.dir,
        "format": data.format,
        "sentences_before_caps": {
            "train+dev": len(train) + (len(dev) if dev else 0),
            "test": len(test),
        },
    }
    write_prepared(splits, Path("data/prepared"), split_stats(splits, corpus))


if __name__ == "__main__":
    run(main)
