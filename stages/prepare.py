"""prepare: read the corpus, map its tags to Ent/O, write the splits and their counts."""

from pathlib import Path

from enttag.data.prepare import split_corpus, split_stats, write_prepared
from enttag.data.readers import read_corpus
from enttag.params import load_section
from enttag.stage import run


def main() -> None:
    data, cfg = load_section("data"), load_section("prepare")
    root = Path(data.dir)
    train = read_corpus(root / data.train, data.format)
    dev = read_corpus(root / data.dev, data.format) if data.dev else None
    test = read_corpus(root / data.test, data.format)
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
