"""The pictures: loss curves, dev scores per evaluation, the confusion matrix, the PR curve."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from enttag.atomic import write_with  # noqa: E402
from enttag.labels import LABELS  # noqa: E402


def read_tsv(path: Path) -> tuple[list[int], list[float]]:
    """Steps and values of one dvclive metric history (empty if never logged)."""
    if not path.is_file():
        return [], []
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    column = path.stem
    return [int(r["step"]) for r in rows], [float(r[column]) for r in rows]


def save(fig: plt.Figure, path: Path) -> None:
    """Write the PNG atomically, without the "Software" stamp: the same figure, the same bytes."""
    fig.tight_layout()
    write_with(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    )
    plt.close(fig)


def loss_curve(live_metrics: Path, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, style in (("fit/loss", "-"), ("dev/loss", "o-")):
        steps, values = read_tsv(live_metrics / f"{name}.tsv")
        ax.plot(steps, values, style, label=name)
    ax.set(xlabel="step", ylabel="weighted cross-entropy", title="Loss")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, out)


def dev_scores(live_metrics: Path, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ("ent_precision", "ent_recall", "ent_f1"):
        steps, values = read_tsv(live_metrics / "dev" / f"{key}.tsv")
        ax.plot(steps, values, "o-", label=key)
    ax.set(xlabel="step", ylabel="dev score", title="Dev Ent precision / recall / F1", ylim=(0, 1))
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, out)


def confusion_matrix(confusion: dict[str, dict[str, int]], out: Path, title: str) -> None:
    """Counts and row-normalised shares (rows: gold, columns: predicted)."""
    counts = np.array([[confusion[g][p] for p in LABELS] for g in LABELS], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            ax.text(
                j,
                i,
                f"{int(counts[i, j]):,}\n{shares[i, j]:.1%}",
                ha="center",
                va="center",
                color="white" if shares[i, j] > 0.5 else "black",
            )
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=LABELS,
        yticklabels=LABELS,
        xlabel="predicted",
        ylabel="gold",
        title=title,
    )
    save(fig, out)


def pr_curve(points: list[dict[str, float]], threshold: float | None, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["recall"] for p in points], [p["precision"] for p in points])
    if threshold is not None and points:
        best = min(points, key=lambda p: abs(p["threshold"] - threshold))
        ax.plot(
            best["recall"], best["precision"], "o", label=f"dev-tuned threshold {threshold:.3f}"
        )
        ax.legend()
    ax.set(
        xlabel="Ent recall",
        ylabel="Ent precision",
        title="Dev precision-recall (Ent)",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.grid(alpha=0.3)
    save(fig, out)
