"""evaluate: score dev and test; write the per-class report, verdict, spans and errors."""

import json
from pathlib import Path

import numpy as np

from enttag.atomic import write_json, write_jsonl, write_text
from enttag.evaluate import check_supports, report_text, score_split
from enttag.inference import predict, resolve_device
from enttag.model import model_from_checkpoint, read_checkpoint
from enttag.params import load_section
from enttag.prepare import read_prepared
from enttag.scores import gold_per_sentence
from enttag.spans import worst_sentences
from enttag.stage import run
from enttag.threshold import pr_curve
from enttag.tokenized import TokenizedCorpus


def main() -> None:
    cfg = load_section("evaluate")
    checkpoint = read_checkpoint("models/model.pkl")
    model, device = model_from_checkpoint(checkpoint), resolve_device("auto")
    model.to(device)
    corpus = TokenizedCorpus.load(Path("data/tokenized"), ("dev", "test"))
    stats = json.loads(Path("data/prepared/stats.json").read_text(encoding="utf-8"))
    baseline = np.load("data/baseline/p_ent.npz")
    metrics = Path("metrics")
    for split in ("dev", "test"):
        data = corpus.splits[split]
        gold = gold_per_sentence(data)
        p_ent, _ = predict(model, data, batch_size=cfg.batch_size, pad_id=corpus.specials.pad,
                           device=device)
        cuts = np.cumsum([len(g) for g in gold])[:-1]
        scores = score_split(gold, p_ent, cfg=cfg, threshold=checkpoint["threshold"],
                             baseline_p_ent=np.split(baseline[split], cuts))
        check_supports(split, scores.metrics, stats[split]["characters"])
        write_json(metrics / f"{split}.json", scores.metrics)
        print(report_text(split, scores))
        if split == "dev":
            curve = pr_curve(gold, p_ent)
            write_json(metrics / "pr_dev.json", [
                {"recall": r, "precision": p, "threshold": t}
                for r, p, t in zip(curve["recall"], curve["precision"], curve["threshold"],
                                   strict=True)])
        else:
            write_text(metrics / "test_report.txt", report_text(split, scores))
            texts = [s.text for s in read_prepared(Path("data/prepared/test.jsonl"))]
            pred = [np.where(p >= 0.5, 0, 1) for p in p_ent]
            write_jsonl(metrics / "errors_test.jsonl",
                        worst_sentences(texts, gold, pred, cfg.n_errors))


if __name__ == "__main__":
    run(main)
