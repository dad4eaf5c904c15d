"""Score a trained model: the per-class report, the verdict, spans, errors, thresholds.

Every character of a split gets exactly one prediction, so supports equal the
split's character count; that is checked, not hoped for.

Two kinds of output: ``metrics/test.json``, the lean DVC metric (flat scalars a person
compares across runs, see :func:`headline`), and the full reports
``metrics/{dev,test}_report.json`` (sklearn's dict, confusion, intervals, spans, error
kinds), ordinary outputs that ``dvc exp show`` leaves out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enttag.atomic import write_json, write_jsonl, write_text
from enttag.data.prepare import read_prepared
from enttag.encode.tokenized import TokenizedCorpus
from enttag.errors import EnttagError
from enttag.labels import apply_threshold
from enttag.model.inference import predict, resolve_device
from enttag.model.network import model_from_checkpoint, read_checkpoint
from enttag.params import EvaluateParams
from enttag.scoring.bootstrap import sentence_counts, summary
from enttag.scoring.scores import ent_prf, gold_per_sentence, report
from enttag.scoring.spans import error_kinds, span_scores, view_rows, worst_sentences
from enttag.scoring.threshold import pr_curve
from enttag.scoring.verdict import explain, verdict

CI_KEYS = (
    "ent_share",
    "pred_ent_share",
    "mcc",
    "ent_precision_lift",
    "ent_f1_ci",
    "macro_f1_ci",
    "mcc_ci",
    "ent_precision_ci",
    "baseline_lift",
    "beats_baseline",
)
# One [tp, fn, fp, tn] row per test sentence (Ent positive, argmax), so that
# `enttag journal` can compare runs by a paired bootstrap over the same sentences.
COUNTS_FILE = "test_counts.jsonl"
BASELINE_NAMES = {"crf": "linear-chain CRF", "lr": "character-window logistic regression"}


@dataclass
class SplitScores:
    """What evaluate writes for one split: the metrics dict and the sklearn text report."""

    metrics: dict[str, Any]
    text: str


def check_supports(split: str, metrics: dict[str, Any], characters: int) -> None:
    """The report must count every character of the split once."""
    support = metrics["Ent"]["support"] + metrics["O"]["support"]
    if support != characters:
        raise EnttagError(
            f"{split}: the report's supports add up to {support} but the split has "
            f"{characters} characters (stats.json); some characters were lost or doubled"
        )


def score_split(
    gold: list[np.ndarray],
    p_ent: list[np.ndarray],
    *,
    cfg: EvaluateParams,
    threshold: float | None,
    baseline_p_ent: list[np.ndarray] | None,
    baseline_kind: str,
) -> SplitScores:
    """Report at the argmax (P(Ent) >= 0.5), with bootstrap verdict, spans and extras."""
    pred = apply_threshold(p_ent, 0.5)
    metrics, text = report(gold, pred)
    baseline_pred = apply_threshold(baseline_p_ent, 0.5) if baseline_p_ent is not None else None
    stats = summary(gold, pred, n_boot=cfg.bootstrap, seed=cfg.seed, baseline_seqs=baseline_pred)
    decision = verdict(stats)
    metrics |= {
        "confusion": stats["confusion"],
        **{k: stats[k] for k in CI_KEYS if k in stats},
        "verdict": decision,
        "verdict_reason": explain(decision, stats),
        "spans": span_scores(gold, pred),
        "error_kinds": total_error_kinds(gold, pred),
    }
    if threshold is not None:
        tuned = apply_threshold(p_ent, threshold)
        tuned_report, _ = report(gold, tuned)
        metrics["at_dev_threshold"] = {
            "threshold": threshold,
            **ent_prf(gold, tuned),
            "macro_f1": tuned_report["macro avg"]["f1-score"],
        }
    if baseline_pred is not None:
        base_report, _ = report(gold, baseline_pred)
        metrics["baseline"] = {
            "kind": baseline_kind,
            **ent_prf(gold, baseline_pred),
            "macro_f1": base_report["macro avg"]["f1-score"],
        }
    return SplitScores(metrics, text)


def headline(test: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """metrics/test.json: the test scores compared across runs, as flat scalars.

    ``test`` is the full test report, ``trained`` the checkpoint's training summary
    (best dev Ent F1 and its step).
    """
    ent_f1_lo, ent_f1_hi = test["ent_f1_ci"]
    lean = {
        "ent_precision": test["Ent"]["precision"],
        "ent_recall": test["Ent"]["recall"],
        "ent_f1": test["Ent"]["f1-score"],
        "ent_f1_lo": ent_f1_lo,
        "ent_f1_hi": ent_f1_hi,
        "macro_f1": test["macro avg"]["f1-score"],
        "mcc": test["mcc"],
        "verdict": test["verdict"],
        "span_f1": test["spans"]["f1"],
    }
    if "baseline" in test:
        lift = test["baseline_lift"]
        lean |= {
            "baseline_ent_f1": test["baseline"]["ent_f1"],
            "lift": lift["ent_f1_diff"],
            "lift_lo": lift["ci"][0],
            "lift_hi": lift["ci"][1],
            "beats_baseline": test["beats_baseline"],
        }
    if "at_dev_threshold" in test:
        lean["tuned_ent_f1"] = test["at_dev_threshold"]["ent_f1"]
    return lean | {"best_dev_ent_f1": trained["dev"]["ent_f1"], "best_step": trained["best_step"]}


def total_error_kinds(gold: list[np.ndarray], pred: list[np.ndarray]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for g, p in zip(gold, pred, strict=True):
        for kind, n in error_kinds(g, p).items():
            totals[kind] = totals.get(kind, 0) + n
    return totals


def ci(interval: list[float]) -> str:
    return f"[{interval[0]:.4f}, {interval[1]:.4f}]"


def report_text(split: str, scores: SplitScores) -> str:
    """The sklearn report as printed, followed by the verdict and the headline extras."""
    m = scores.metrics
    lines = [
        f"{split}: {int(m['Ent']['support'] + m['O']['support'])} characters scored",
        "",
        scores.text.rstrip(),
        "",
        f"verdict: {m['verdict_reason']}",
        f"Ent F1 95% CI {ci(m['ent_f1_ci'])}, macro F1 95% CI {ci(m['macro_f1_ci'])}, "
        f"MCC {m['mcc']:.4f} {ci(m['mcc_ci'])}",
        f"spans (exact match): P {m['spans']['precision']:.4f} R {m['spans']['recall']:.4f} "
        f"F1 {m['spans']['f1']:.4f}",
    ]
    if "at_dev_threshold" in m:
        t = m["at_dev_threshold"]
        lines.append(
            f"at the dev-tuned threshold P(Ent) >= {t['threshold']:.3f}: Ent F1 {t['ent_f1']:.4f}"
        )
    if "baseline" in m:
        lift = m["baseline_lift"]
        name = BASELINE_NAMES[m["baseline"]["kind"]]
        lines.append(
            f"baseline ({name}): Ent F1 {m['baseline']['ent_f1']:.4f}; "
            f"paired lift {lift['ent_f1_diff']:+.4f} 95% CI {ci(lift['ci'])}; "
            f"beats baseline: {m['beats_baseline']}"
        )
    return "\n".join(lines) + "\n"


def evaluate_model(
    cfg: EvaluateParams,
    *,
    model_path: Path,
    tokenized_dir: Path,
    prepared_dir: Path,
    baseline_path: Path,
    metrics_dir: Path,
) -> dict[str, SplitScores]:
    """Score dev and test; write the lean metrics, the full reports, the PR curve, the errors."""
    checkpoint = read_checkpoint(model_path)
    device = resolve_device("auto")
    model = model_from_checkpoint(checkpoint).to(device)
    corpus = TokenizedCorpus.load(tokenized_dir, ("dev", "test"))
    stats = json.loads((prepared_dir / "stats.json").read_text(encoding="utf-8"))
    baseline = np.load(baseline_path)
    results = {}
    for split in ("dev", "test"):
        data = corpus.splits[split]
        gold = gold_per_sentence(data)
        p_ent, _ = predict(
            model, data, batch_size=cfg.batch_size, pad_id=corpus.specials.pad, device=device
        )
        cuts = np.cumsum([len(g) for g in gold])[:-1]
        scores = score_split(
            gold,
            p_ent,
            cfg=cfg,
            threshold=checkpoint["threshold"],
            baseline_p_ent=np.split(baseline[split], cuts),
            baseline_kind=str(baseline["kind"]),
        )
        check_supports(split, scores.metrics, stats[split]["characters"])
        write_json(metrics_dir / f"{split}_report.json", scores.metrics)
        if split == "dev":
            curve = pr_curve(gold, p_ent)
            points = zip(curve["recall"], curve["precision"], curve["threshold"], strict=True)
            write_json(
                metrics_dir / "pr_dev.json",
                [{"recall": r, "precision": p, "threshold": t} for r, p, t in points],
            )
        else:
            write_json(metrics_dir / "test.json", headline(scores.metrics, checkpoint["train"]))
            write_text(metrics_dir / "test_report.txt", report_text(split, scores))
            texts = [s.text for s in read_prepared(prepared_dir / "test.jsonl")]
            pred = apply_threshold(p_ent, 0.5)
            worst = worst_sentences(texts, gold, pred, cfg.n_errors)
            write_jsonl(metrics_dir / "errors_test.jsonl", worst)
            view = view_rows(
                worst, texts, gold, pred, p_ent, n_correct=cfg.n_correct, seed=cfg.seed
            )
            write_jsonl(metrics_dir / "view_test.jsonl", view)
            counts = sentence_counts(gold, pred)
            write_jsonl(metrics_dir / COUNTS_FILE, counts.tolist())
        results[split] = scores
    return results
