"""baseline: the classic baseline (CRF or LR), trained on train; P(Ent) and P(B | Ent)
for dev and test. The CRF learns the tag scheme of ``model.tags`` (Ent/O or B/I/O).

The fitted CRF itself is kept too (``models/baseline/crf.crfsuite``): the fuse stage
mixes its marginals with the encoder's into the shipped tagger.
"""

import sys
import time
from pathlib import Path

import numpy as np

from enttag.atomic import atomic_dir, write_json, write_with
from enttag.baseline.crf import CrfBaseline
from enttag.baseline.marginals import CRF_FILE
from enttag.baseline.window_lr import WindowBaseline
from enttag.data.prepare import read_prepared
from enttag.params import as_dict, load_section
from enttag.stage import run


def main() -> None:
    cfg, tags = load_section("baseline"), load_section("model").tags
    prepared = Path("data/prepared")
    if cfg.kind == "crf":
        model = CrfBaseline(cfg.window, cfg.c1, cfg.c2, cfg.max_iterations, tags)
    else:
        model = WindowBaseline(cfg.window, cfg.c, cfg.max_iter)
    start = time.perf_counter()
    model.fit(read_prepared(prepared / "train.jsonl"))
    print(f"baseline {cfg.kind}: fit in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    probs = {}
    for split in ("dev", "test"):
        p = model.probs([s.text for s in read_prepared(prepared / f"{split}.jsonl")])
        probs |= {split: p[:, 0], f"{split}_begin": p[:, 1]}
    write_with(
        Path("data/baseline/p_ent.npz"),
        lambda tmp: np.savez(open(tmp, "wb"), kind=cfg.kind, **probs),
    )
    with atomic_dir(Path("models/baseline")) as tmp:
        write_json(
            tmp / "baseline.json", as_dict(cfg) | {"tags": tags if cfg.kind == "crf" else "io"}
        )
        if cfg.kind == "crf":
            (tmp / CRF_FILE).write_bytes(model.model)


if __name__ == "__main__":
    run(main)
