"""Write a lab journal (EXPERIMENTS.md) of the DVC experiments of the current commit.

At the top, the seed groups (runs that differ only in ``train.seed``, see
:mod:`enttag.experiments.seeds`): mean test Ent F1, min–max over seeds and n, each
against the best group by a hierarchical bootstrap. Then a table of every finished run,
the baseline commit and its experiments, sorted by test Ent F1; each run is compared
with the best one by a paired bootstrap of the Ent F1 difference over the same
resampled test sentences (from the runs' committed per-sentence counts): ``worse`` when
the 95% interval of the difference lies below 0, else ``not distinguishable from best``.
Then one section per run: the params that differ from the baseline commit, the test
classification report, the verdict and intervals, the argmax against the dev-tuned
threshold, the loss curve and the worst test sentences.

The table comes from ``dvc exp show --json`` (the lean ``metrics/test.json``); the
rest is read from the run's own commit (``git show <rev>:<path>``): the per-sentence
test counts ``metrics/test_counts.jsonl``, the full report ``metrics/test_report.json``,
``plots/loss.png`` and ``metrics/errors_test.jsonl``. Nothing is re-run. The pictures
and error files go to
``journal/`` beside the journal.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from enttag.atomic import write_text, write_with
from enttag.experiments.runs import (
    TEST_REPORT,
    Run,
    committed,
    exp_show,
    ranked,
    runs_from_show,
    with_report,
)
from enttag.experiments.seeds import N_BOOT, SEED, STANDING, ci, group_table, seed_groups
from enttag.report.bootstrap import paired_f1_diff

HELP = "write EXPERIMENTS.md, a lab journal of the DVC experiments, from dvc exp show --json"

LOSS_PNG = "plots/loss.png"
ERRORS = "metrics/errors_test.jsonl"
ASSETS = "journal"


def ent_f1_ci(run: Run) -> list[float] | None:
    """The run's Ent F1 95% interval from its lean metrics (None if absent)."""
    m = run.test
    return [m["ent_f1_lo"], m["ent_f1_hi"]] if "ent_f1_lo" in m and "ent_f1_hi" in m else None


def standing(run: Run, best: Run, n_boot: int = N_BOOT, seed: int = SEED) -> str:
    """How a run compares with the best one: a paired bootstrap of the Ent F1 difference
    (run minus best) over the same resampled test sentences."""
    if run is best:
        return "best"
    if run.counts is None or best.counts is None:
        return "n/a (no per-sentence counts)"
    if run.counts.shape != best.counts.shape:
        return "n/a (other test sentences)"
    lift = paired_f1_diff(run.counts, best.counts, n_boot=n_boot, seed=seed)
    return f"{STANDING[lift['beats']]}: {lift['ent_f1_diff']:+.4f} {ci(lift['ci'])}"


# ---------------------------------------------------------------- formatting (pure)


def fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def params_text(changed: Mapping[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in sorted(changed.items())) or "(baseline)"


def anchor(name: str) -> str:
    """The id GitHub gives a ``## name`` heading."""
    return re.sub(r"[^\w\- ]", "", name.lower()).replace(" ", "-")


def asset_name(run: Run, suffix: str) -> str:
    """A file name for one of the run's assets."""
    return re.sub(r"[^\w.-]+", "-", run.name) + f"-{suffix}"


def classification_text(m: Mapping[str, Any], digits: int = 4) -> str:
    """sklearn's ``classification_report`` text, rebuilt from its dict (labels Ent and O)."""
    headers = ["precision", "recall", "f1-score", "support"]
    width = max(len("weighted avg"), digits)
    row = "{:>{w}s} " + " {:>9.{d}f}" * 3 + " {:>9}\n"
    text = ("{:>{w}s} " + " {:>9}" * 4).format("", *headers, w=width) + "\n\n"
    for label in ("Ent", "O"):
        c = m[label]
        text += row.format(
            label, c["precision"], c["recall"], c["f1-score"], int(c["support"]), w=width, d=digits
        )
    total = int(m["macro avg"]["support"])
    text += "\n" + ("{:>{w}s} " + " {:>9}" * 2 + " {:>9.{d}f} {:>9}\n").format(
        "accuracy", "", "", m["accuracy"], total, w=width, d=digits
    )
    for avg in ("macro avg", "weighted avg"):
        c = m[avg]
        text += row.format(
            avg, c["precision"], c["recall"], c["f1-score"], int(c["support"]), w=width, d=digits
        )
    return text


def table(runs: list[Run]) -> str:
    """The comparison table of finished runs, already ranked."""
    lines = [
        "| # | Run | Params vs baseline | Ent P | Ent R | Ent F1 [95% CI] | macro F1 "
        "| Verdict | Beats baseline | Ent F1 @ dev threshold | vs best run (paired Ent F1 diff) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        m = r.test
        at_threshold = fmt(m.get("tuned_ent_f1", "n/a"))
        if "at_dev_threshold" in r.report:
            at_threshold += f" (t={r.report['at_dev_threshold']['threshold']:.3f})"
        lines.append(
            f"| {i} | [{r.name}](#{anchor(r.name)}) | {params_text(r.changed)} "
            f"| {m['ent_precision']:.4f} | {m['ent_recall']:.4f} "
            f"| {r.ent_f1:.4f} {ci(ent_f1_ci(r))} | {m['macro_f1']:.4f} "
            f"| {m.get('verdict', 'n/a')} | {m.get('beats_baseline', 'n/a')} | {at_threshold} "
            f"| {standing(r, runs[0])} |"
        )
    return "\n".join(lines) + "\n"


def verdict_line(m: Mapping[str, Any]) -> str:
    """The verdict and the bootstrap intervals, in one line."""
    line = (
        f"**Verdict:** {m.get('verdict_reason', m.get('verdict', 'n/a'))}. "
        f"Ent F1 95% CI {ci(m.get('ent_f1_ci'))}, macro F1 95% CI {ci(m.get('macro_f1_ci'))}, "
        f"MCC {fmt(m.get('mcc', 'n/a'))} {ci(m.get('mcc_ci'))}"
    )
    lift = m.get("baseline_lift")
    if lift:
        kind = (m.get("baseline") or {}).get("kind", "lr")
        line += (
            f", paired Ent F1 lift over the {kind} baseline {lift['ent_f1_diff']:+.4f} "
            f"{ci(lift.get('ci'))}; beats baseline: {m.get('beats_baseline', 'n/a')}"
        )
    return line + "."


def thresholds_table(m: Mapping[str, Any]) -> str:
    """Ent P/R/F1 and macro F1 at the argmax and at the threshold tuned on dev."""
    lines = [
        "| Decision | P(Ent) >= | Ent P | Ent R | Ent F1 | macro F1 |",
        "|---|---|---|---|---|---|",
        f"| argmax | 0.500 | {m['Ent']['precision']:.4f} | {m['Ent']['recall']:.4f} "
        f"| {m['Ent']['f1-score']:.4f} | {m['macro avg']['f1-score']:.4f} |",
    ]
    t = m.get("at_dev_threshold")
    if t:
        lines.append(
            f"| dev-tuned | {t['threshold']:.3f} | {t['ent_precision']:.4f} "
            f"| {t['ent_recall']:.4f} | {t['ent_f1']:.4f} | {t['macro_f1']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def section(run: Run, loss_png: str | None, errors: str | None) -> str:
    """One run's entry; ``loss_png`` and ``errors`` are links relative to the journal."""
    m = run.report
    parts = [
        f"## {run.name}\n",
        f"- Revision: `{run.rev[:7]}`, baseline `{run.baseline}`",
        f"- Params vs baseline: {params_text(run.changed)}\n",
    ]
    if m:
        parts += [
            "```text\n" + classification_text(m) + "```\n",
            verdict_line(m) + "\n",
            thresholds_table(m),
        ]
    else:
        parts.append(f"No `{TEST_REPORT}` in this run's commit.\n")
    parts.append(
        f"![Loss curve of {run.name}]({loss_png})\n"
        if loss_png
        else f"No `{LOSS_PNG}` in this run's commit.\n"
    )
    if errors:
        parts.append(f"Worst test sentences: [{errors}]({errors}) (`{ERRORS}` of this run).\n")
    return "\n".join(parts)


def journal_text(runs: list[Run], assets: Mapping[str, tuple[str | None, str | None]]) -> str:
    """The whole journal; ``assets`` maps a run's rev to its (loss PNG, errors) links."""
    best = ranked(runs)
    done = {r.name for r in best}
    pending = [r for r in runs if not r.finished and r.name not in done]
    text = [
        "# Experiments\n",
        "Written by `enttag journal` from `dvc exp show --json`; test split, "
        "Ent = the entity class.\n",
        "## Seed groups\n",
        "Runs that differ only in `train.seed`. *vs best group*: the mean Ent F1 "
        "difference with a 95% hierarchical bootstrap interval (the seeds of each group "
        "drawn with replacement, then the same test sentences for every run); *worse* "
        "when it lies below 0, *better* above, else *not distinguishable from best*. "
        "Verdict and beats baseline: each seed's own, counted.\n",
    ]
    groups = seed_groups(runs)
    text.append(group_table(groups) if groups else "No finished runs.\n")
    text += [
        "## Runs\n",
        "*vs best run*: the run's Ent F1 minus the best run's with a 95% paired bootstrap "
        "interval over the same resampled test sentences (one run each: retrain noise not "
        "measured); *worse* when it lies below 0, else *not distinguishable from best*.\n",
    ]
    text.append(table(best) if best else "No finished runs.\n")
    if pending:
        text.append("Not finished: " + ", ".join(f"{r.name} ({r.state})" for r in pending) + ".\n")
    text += [section(r, *assets[r.rev]) for r in best]
    return "\n".join(text)


def save_asset(run: Run, path: str, suffix: str, folder: Path) -> str | None:
    """Copy ``path`` of the run's commit into ``folder``; its link beside the journal."""
    content = committed(run.rev, path)
    if content is None:
        return None
    target = folder / ASSETS / asset_name(run, suffix)
    write_with(target, lambda tmp: tmp.write_bytes(content))
    return f"{ASSETS}/{target.name}"


def write_journal(out: Path) -> list[Run]:
    """Write the journal and its assets; return the finished runs, best first."""
    runs = [with_report(r) if r.finished else r for r in runs_from_show(exp_show())]
    folder = out.parent
    assets = {
        r.rev: (
            save_asset(r, LOSS_PNG, "loss.png", folder),
            save_asset(r, ERRORS, "errors_test.jsonl", folder),
        )
        for r in ranked(runs)
    }
    write_text(out, journal_text(runs, assets))
    return ranked(runs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("EXPERIMENTS.md"),
        help=f"the journal to write (default EXPERIMENTS.md); pictures go to {ASSETS}/ beside it",
    )


def run(args: argparse.Namespace) -> int:
    best = write_journal(args.out)
    print(
        f"wrote {args.out}: {len(best)} finished runs"
        + (f", best {best[0].name} (Ent F1 {best[0].ent_f1:.4f})" if best else "")
    )
    return 0
