"""baseline: character-window logistic regression, trained on train, P(Ent) for dev and test."""

from pathlib import Path

import numpy as np

from enttag.atomic import write_with
from enttag.baseline.window_lr import WindowBaseline
from enttag.data.prepare import read_prepared
from enttag.params import load_section
from enttag.stage import run


def main() -> None:
    cfg = load_section("baseline")
    prepared = Path("data/prepared")
    model = WindowBaseline(cfg.window, cfg.c, cfg.max_iter).fit(
        read_prepared(prepared / "train.jsonl")
    )
    p_ent = {
        split: model.p_ent([s.text for s in read_prepared(prepared / f"{split}.jsonl")])
        for split in ("dev", "test")
    }
    write_with(Path("data/baseline/p_ent.npz"), lambda tmp: np.savez(open(tmp, "wb"), **p_ent))


if __name__ == "__main__":
    run(main)
