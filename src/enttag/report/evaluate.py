"""Score a trained model: the per-class report, the verdict, spans, entities, errors,
thresholds.

Every character of a split gets exactly one prediction, so supports equal the
split's character count; that is checked, not hoped for.

Three systems are scored on the same sentences: the shipped tagger (``models/tagger.pkl``:
the encoder, mixed with the CRF when the fuse stage chose so), the encoder alone
(``models/model.pkl``) and the CRF baseline; every lift between them is paired. The
shipped tagger is the run's headline: its report, verdict, spans and errors. Each
system's predicted entities are also scored against the corpus's entities (the B/I/O
tags of ``data/prepared``), over the same resampled sentences as its characters.

Two kinds of output: ``metrics/test.json``, the lean DVC metric (flat scalars a person
compares across runs, see :func:`headline`), and the full reports
``metrics/{dev,test}_report.json`` (sklearn's dict, confusion, intervals, spans,
entities and their error kinds), ordinary outputs that ``dvc exp show`` leaves out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enttag.atomic import write_json, write_jsonl, write_text
from enttag.data.prepare import read_prepared
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import gold_per_sentence
from enttag.entities import Spans, kind_counts, kind_totals
from enttag.errors import EnttagError
from enttag.fusion import Fusion
from enttag.labels import (
    ARGMAX,
    Seqs,
    Span,
    apply_threshold,
    bio_spans,
    labels_of_tags,
    tag_ids,
)
from enttag.metrics.counts import point_scores, sentence_counts
from enttag.metrics.threshold import pr_curve
from enttag.model.inference import predict, resolve_device
from enttag.model.network import model_from_checkpoint, read_checkpoint
from enttag.params import EvaluateParams
from enttag.report.bootstrap import entity_summary, paired_f1_diff, summary
from enttag.report.per_class import report
from enttag.report.spans import (
    Tagged,
    predicted_entities,
    span_scores,
    view_rows,
    worst_sentences,
)
from enttag.report.verdict import explain, verdict

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
SYSTEM_KEYS = ("ent_precision", "ent_recall", "ent_f1", "ent_f1_ci", "span_f1")
PREDICTED = {"io": "runs of Ent", "bio": "B/I/O tags"}  # a system's entities, by tag scheme


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


def prepared_entities(path: Path, gold: Seqs) -> tuple[list[str], list[list[Span]]]:
    """Texts and entities (``bio_spans`` of the tags) of the prepared sentences at ``path``,
    checked to be the scored ones: as many, as long, with the same Ent/O labels."""
    sentences = read_prepared(path)
    if len(sentences) != len(gold):
        raise EnttagError(f"{path}: {len(sentences)} sentences but {len(gold)} were scored")
    tags = [tag_ids(s.tags) for s in sentences]
    for i, (t, g) in enumerate(zip(tags, gold, strict=True)):
        if len(t) != len(g):
            raise EnttagError(
                f"{path}: sentence {i + 1} has {len(t)} characters but {len(g)} were scored"
            )
        if (labels_of_tags(t) != g).any():
            raise EnttagError(f"{path}: sentence {i + 1}'s tags disagree with its scored labels")
    return [s.text for s in sentences], [bio_spans(t) for t in tags]


def entity_scores(
    entities: Sequence[Spans],
    found: Sequence[Spans],
    cfg: EvaluateParams,
    baseline_found: Sequence[Spans] | None = None,
) -> dict[str, Any]:
    """Strict entity P/R/F1 of one system's ``found`` entities against the gold
    ``entities``, the F1's interval over the character bootstrap's draws, the error kinds;
    with ``baseline_found``, the paired entity F1 lift over the baseline."""
    out = entity_summary(
        entities, found, n_boot=cfg.bootstrap, seed=cfg.seed, baseline=baseline_found
    )
    return out | {"kinds": kind_totals(kind_counts(entities, found))}


@dataclass(frozen=True)
class Outputs:
    """One system's probabilities per sentence: P(Ent) and P(B | Ent) (``labels``)."""

    p_ent: list[np.ndarray]
    p_begin: list[np.ndarray]

    def tagged(self, cut: float) -> tuple[list[np.ndarray], list[list[Span]]]:
        """Ent/O labels at ``cut`` and the entities they decode to."""
        pred = apply_threshold(self.p_ent, cut)
        return pred, predicted_entities(pred, self.p_begin)


def score_split(
    gold: list[np.ndarray],
    shipped: Outputs,
    *,
    entities: Sequence[Spans],
    cfg: EvaluateParams,
    cut: float,
    threshold: float | None,
    baseline: Outputs | None,
    baseline_kind: str,
    encoder: Outputs | None = None,
) -> SplitScores:
    """Report at ``cut`` (the argmax cut, or a fused tagger's dev-chosen cut), with the
    bootstrap verdict, spans, entity scores against the gold ``entities`` and extras.

    ``threshold`` adds the scores at a dev-tuned cut; ``baseline`` the baseline's
    scores and the paired lift over it; ``encoder`` (a fused tagger's encoder alone, at
    the argmax) its scores, its lift over the baseline and this system's lift over it.
    Every paired interval resamples the same sentences.
    """
    pred, found = shipped.tagged(cut)
    metrics, text = report(gold, pred)
    baseline_pred, baseline_found = baseline.tagged(ARGMAX) if baseline else (None, None)
    stats = summary(gold, pred, n_boot=cfg.bootstrap, seed=cfg.seed, baseline_seqs=baseline_pred)
    decision = verdict(stats)
    metrics |= {
        "cut": cut,
        "confusion": stats["confusion"],
        **{k: stats[k] for k in CI_KEYS if k in stats},
        "verdict": decision,
        "verdict_reason": explain(decision, stats),
        "spans": span_scores(gold, pred),
        "entities": entity_scores(entities, found, cfg, baseline_found),
    }
    if threshold is not None:
        tuned = point_scores(gold, apply_threshold(shipped.p_ent, threshold))
        metrics["at_dev_threshold"] = {
            "threshold": threshold,
            **{k: tuned[k] for k in ("ent_precision", "ent_recall", "ent_f1", "macro_f1")},
        }
    if baseline_pred is not None:
        metrics["baseline"] = {
            "kind": baseline_kind,
            **system_scores(gold, entities, (baseline_pred, baseline_found), cfg),
            "macro_f1": point_scores(gold, baseline_pred)["macro_f1"],
        }
    if encoder is not None:
        encoder_pred, encoder_found = encoder.tagged(ARGMAX)
        metrics["encoder"] = system_scores(
            gold, entities, (encoder_pred, encoder_found), cfg, (baseline_pred, baseline_found)
        )
        counts = [sentence_counts(gold, p) for p in (pred, encoder_pred)]
        metrics["over_encoder"] = paired_f1_diff(*counts, n_boot=cfg.bootstrap, seed=cfg.seed)
    return SplitScores(metrics, text)


def system_scores(
    gold: list[np.ndarray],
    entities: Sequence[Spans],
    tagged: tuple[list[np.ndarray], list[list[Span]]],
    cfg: EvaluateParams,
    baseline: tuple[list[np.ndarray] | None, list[list[Span]] | None] = (None, None),
) -> dict[str, Any]:
    """Ent P/R/F1 with the F1's interval, span F1 and entity scores of one system (its
    labels and entities, :meth:`Outputs.tagged`); with the ``baseline``'s, its paired
    lifts over the baseline too."""
    pred, found = tagged
    baseline_pred, baseline_found = baseline
    stats = summary(gold, pred, n_boot=cfg.bootstrap, seed=cfg.seed, baseline_seqs=baseline_pred)
    out = {
        "ent_precision": stats["ent_precision"],
        "ent_recall": stats["ent_recall"],
        "ent_f1": stats["ent_f1"],
        "ent_f1_ci": stats["ent_f1_ci"],
        "span_f1": span_scores(gold, pred)["f1"],
        "entities": entity_scores(entities, found, cfg, baseline_found),
    }
    if baseline_pred is not None:
        out |= {"baseline_lift": stats["baseline_lift"], "beats_baseline": stats["beats_baseline"]}
    return out


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
    entities = test["entities"]  # after the character keys: dvc exp show keeps this order
    lean |= {
        "entity_f1": entities["f1"],
        "entity_f1_lo": entities["f1_ci"][0],
        "entity_f1_hi": entities["f1_ci"][1],
    }
    if "baseline" in test:
        lift = entities["baseline_lift"]
        lean |= {
            "baseline_entity_f1": test["baseline"]["entities"]["f1"],
            "entity_lift": lift["f1_diff"],
            "entity_lift_lo": lift["ci"][0],
            "entity_lift_hi": lift["ci"][1],
            "entity_beats_baseline": entities["beats_baseline"],
        }
    if "encoder" in test:
        encoder, lift, gain = (
            test["encoder"],
            test["encoder"]["baseline_lift"],
            test["over_encoder"],
        )
        lean |= {
            "encoder_ent_f1": encoder["ent_f1"],
            "encoder_ent_f1_lo": encoder["ent_f1_ci"][0],
            "encoder_ent_f1_hi": encoder["ent_f1_ci"][1],
            "encoder_span_f1": encoder["span_f1"],
            "encoder_lift": lift["ent_f1_diff"],
            "encoder_lift_lo": lift["ci"][0],
            "encoder_lift_hi": lift["ci"][1],
            "encoder_beats_baseline": encoder["beats_baseline"],
            "fused_minus_encoder": gain["ent_f1_diff"],
            "fused_minus_encoder_lo": gain["ci"][0],
            "fused_minus_encoder_hi": gain["ci"][1],
            "encoder_entity_f1": encoder["entities"]["f1"],
        }
    if "at_dev_threshold" in test:
        lean["tuned_ent_f1"] = test["at_dev_threshold"]["ent_f1"]
    return lean | {"best_dev_ent_f1": trained["dev"]["ent_f1"], "best_step": trained["best_step"]}


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
        f"spans (runs of Ent against runs of Ent, exact match): "
        f"P {m['spans']['precision']:.4f} R {m['spans']['recall']:.4f} F1 {m['spans']['f1']:.4f}",
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
    if "encoder" in m:
        lines += ["", *systems_table(m)]
    lines += ["", *entities_table(m)]
    return "\n".join(lines) + "\n"


def entities_table(m: dict[str, Any]) -> list[str]:
    """Entity P/R/F1 of each scored system, and the paired entity F1 lifts over the baseline."""
    systems = [("shipped", m), ("encoder alone", m.get("encoder"))]
    if "baseline" in m:
        systems.append((BASELINE_NAMES[m["baseline"]["kind"]], m["baseline"]))
    rows = [(name, s["entities"]) for name, s in systems if s is not None]
    width = max(len(name) for name, _ in rows)
    out = [
        "entities (strict match against the corpus's entities; predicted: "
        + PREDICTED[m.get("tags", "io")]
        + "):",
        f"{'system':<{width}}  P       R       F1 [95% CI]",
    ]
    out += [
        f"{name:<{width}}  {e['precision']:.4f}  {e['recall']:.4f}  {e['f1']:.4f} {ci(e['f1_ci'])}"
        for name, e in rows
    ]
    lifts = [(name, e) for name, e in rows if "baseline_lift" in e]
    if lifts:
        out.append("paired lifts (entity F1, same resampled sentences):")
    out += [
        f"  {name} - baseline: {e['baseline_lift']['f1_diff']:+.4f} 95% CI "
        f"{ci(e['baseline_lift']['ci'])}: {e['beats_baseline']}"
        for name, e in lifts
    ]
    return out


def systems_table(m: dict[str, Any]) -> list[str]:
    """The shipped tagger, the encoder alone and the baseline side by side, and the
    three paired lifts between them."""
    fusion = m["fusion"]
    rows = [
        (
            f"shipped (encoder + CRF, {fusion['rule']} w={fusion['weight']:g}, cut {m['cut']:.3f})",
            m["Ent"]["precision"],
            m["Ent"]["recall"],
            m["Ent"]["f1-score"],
            m["ent_f1_ci"],
            m["spans"]["f1"],
        ),
        ("encoder alone", *(m["encoder"][k] for k in SYSTEM_KEYS)),
        (BASELINE_NAMES[m["baseline"]["kind"]], *(m["baseline"][k] for k in SYSTEM_KEYS)),
    ]
    width = max(len(r[0]) for r in rows)
    out = [f"{'system':<{width}}  Ent P   Ent R   Ent F1 [95% CI]           span F1"]
    out += [
        f"{name:<{width}}  {p:.4f}  {r:.4f}  {f:.4f} {ci(interval)}  {span:.4f}"
        for name, p, r, f, interval, span in rows
    ]
    lifts = (
        ("shipped - baseline", m["baseline_lift"], m["beats_baseline"]),
        ("encoder - baseline", m["encoder"]["baseline_lift"], m["encoder"]["beats_baseline"]),
        ("shipped - encoder", m["over_encoder"], m["over_encoder"]["beats"]),
    )
    out.append("paired lifts (Ent F1, same resampled sentences):")
    out += [
        f"  {name}: {lift['ent_f1_diff']:+.4f} 95% CI {ci(lift['ci'])}: {beats}"
        for name, lift, beats in lifts
    ]
    return out


def evaluate_model(
    cfg: EvaluateParams,
    *,
    model_path: Path,
    tagger_path: Path,
    tokenized_dir: Path,
    prepared_dir: Path,
    baseline_path: Path,
    metrics_dir: Path,
) -> dict[str, SplitScores]:
    """Score dev and test; write the lean metrics, the full reports, the PR curve, the errors."""
    checkpoint = read_checkpoint(model_path)
    shipped = read_checkpoint(tagger_path)
    fusion = Fusion.from_dict(shipped["fusion"]) if shipped.get("fusion") else None
    device = resolve_device("auto")
    model = model_from_checkpoint(checkpoint).to(device)
    corpus = TokenizedCorpus.load(tokenized_dir, ("dev", "test"))
    stats = json.loads((prepared_dir / "stats.json").read_text(encoding="utf-8"))
    baseline = np.load(baseline_path)
    results = {}
    for split in ("dev", "test"):
        data = corpus.splits[split]
        gold = gold_per_sentence(data)
        texts, entities = prepared_entities(prepared_dir / f"{split}.jsonl", gold)
        enc = predict(
            model, data, batch_size=cfg.batch_size, pad_id=corpus.specials.pad, device=device
        )
        encoder = Outputs(enc.p_ent, enc.p_begin)
        cuts = np.cumsum([len(g) for g in gold])[:-1]
        crf = Outputs(np.split(baseline[split], cuts), np.split(baseline[f"{split}_begin"], cuts))
        shipped = shipped_outputs(fusion, encoder, crf)
        scores = score_split(
            gold,
            shipped,
            entities=entities,
            cfg=cfg,
            cut=ARGMAX if fusion is None else fusion.threshold,
            threshold=checkpoint["threshold"] if fusion is None else None,
            baseline=crf,
            baseline_kind=str(baseline["kind"]),
            encoder=None if fusion is None else encoder,
        )
        scores.metrics["tags"] = checkpoint["tags"]
        if fusion is not None:
            scores.metrics["fusion"] = fusion.to_dict()
        check_supports(split, scores.metrics, stats[split]["characters"])
        write_json(metrics_dir / f"{split}_report.json", scores.metrics)
        if split == "dev":
            curve = pr_curve(gold, shipped.p_ent)
            points = zip(curve["recall"], curve["precision"], curve["threshold"], strict=True)
            write_json(
                metrics_dir / "pr_dev.json",
                [{"recall": r, "precision": p, "threshold": t} for r, p, t in points],
            )
        else:
            write_json(metrics_dir / "test.json", headline(scores.metrics, checkpoint["train"]))
            write_text(metrics_dir / "test_report.txt", report_text(split, scores))
            pred, found = shipped.tagged(scores.metrics["cut"])
            tagged = Tagged(texts, gold, pred, entities, found)
            worst = worst_sentences(tagged, cfg.n_errors)
            write_jsonl(metrics_dir / "errors_test.jsonl", worst)
            view = view_rows(worst, tagged, shipped.p_ent, n_correct=cfg.n_correct, seed=cfg.seed)
            write_jsonl(metrics_dir / "view_test.jsonl", view)
            counts = sentence_counts(gold, pred)
            write_jsonl(metrics_dir / COUNTS_FILE, counts.tolist())
        results[split] = scores
    return results


def shipped_outputs(fusion: Fusion | None, encoder: Outputs, crf: Outputs) -> Outputs:
    """The shipped tagger's probabilities per sentence: the encoder's, or their fusion with
    the CRF's, class by class (what ``Tagger`` gives for the same sentences)."""
    if fusion is None:
        return encoder
    return Outputs(
        *(
            [fusion.mix(e, b) for e, b in zip(mine, theirs, strict=True)]
            for mine, theirs in ((encoder.p_ent, crf.p_ent), (encoder.p_begin, crf.p_begin))
        )
    )
