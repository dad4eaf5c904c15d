"""fuse: the shipped tagger, the encoder alone or mixed with the CRF baseline.

With ``fuse.kind: crf`` the rule (linear or log-odds), the encoder's weight and the
P(Ent) cut are chosen on dev alone (:func:`enttag.fusion.choose`), and
``models/tagger.pkl`` is the encoder's model file plus the CRF model and that choice:
what ``enttag predict``, ``Tagger.load`` and ``enttag export`` read. With ``none`` it
is the encoder's model file as it is. ``metrics/fusion.json`` lists every candidate's
dev Ent F1.
"""

import json
from pathlib import Path

import numpy as np

from enttag.atomic import write_json
from enttag.baseline.marginals import CRF_FILE
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import gold_per_sentence
from enttag.errors import EnttagError
from enttag.fusion import RULES, choose, weight_grid
from enttag.model.inference import predict, resolve_device
from enttag.model.network import model_from_checkpoint, read_checkpoint, write_checkpoint
from enttag.params import load_section
from enttag.stage import run

BASELINE = Path("models/baseline")
BATCH_SIZE = 64  # windows per inference batch


def main() -> None:
    cfg = load_section("fuse")
    checkpoint = read_checkpoint("models/model.pkl")
    report = {"kind": cfg.kind}
    if cfg.kind == "none":
        shipped = checkpoint | {"fusion": None}
    else:
        baseline = json.loads((BASELINE / "baseline.json").read_text(encoding="utf-8"))
        if baseline["kind"] != "crf":
            raise EnttagError(
                f"fuse.kind crf mixes in the CRF baseline, but baseline.kind is "
                f"{baseline['kind']!r}: set baseline.kind crf or fuse.kind none"
            )
        if baseline["tags"] != checkpoint["tags"]:
            raise EnttagError(
                f"the encoder's tag scheme is {checkpoint['tags']!r} but the CRF's is "
                f"{baseline['tags']!r}: re-run the baseline stage (dvc repro)"
            )
        corpus = TokenizedCorpus.load(Path("data/tokenized"), ("dev",))
        device = resolve_device("auto")
        model = model_from_checkpoint(checkpoint).to(device)
        dev = corpus.splits["dev"]
        enc = predict(model, dev, batch_size=BATCH_SIZE, pad_id=corpus.specials.pad, device=device)
        p_crf = np.load("data/baseline/p_ent.npz")["dev"]
        rules = RULES if cfg.rule == "auto" else (cfg.rule,)
        fusion, rows = choose(
            gold_per_sentence(dev),
            np.concatenate(enc.p_ent),
            p_crf,
            rules,
            weight_grid(cfg.weight_step),
        )
        settings = fusion.to_dict() | {"window": baseline["window"]}
        shipped = checkpoint | {"fusion": settings, "crf_model": (BASELINE / CRF_FILE).read_bytes()}
        report |= {"chosen": settings, "dev": rows}
        print(
            f"fuse: {fusion.rule}, encoder weight {fusion.weight}, P(Ent) cut "
            f"{fusion.threshold:.4f}: dev Ent F1 {max(r['dev_ent_f1'] for r in rows):.4f}"
        )
    write_checkpoint(Path("models/tagger.pkl"), shipped)
    write_json(Path("metrics/fusion.json"), report)


if __name__ == "__main__":
    run(main)
