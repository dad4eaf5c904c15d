"""An entity view: sentences as one self-contained HTML page, gold and predicted spans marked.

Every character is shown once. Gold spans are underlined (red when no prediction
touches them: a miss); predicted spans are highlighted, green when they equal a
gold span, orange when they touch no gold span (spurious), yellow for a boundary
error; without gold every predicted span is blue. A span that starts where the one
before it ends (two entities with no character between them) opens with a dark bar,
so touching entities stay two. Hovering a character shows its P(Ent) (a ``title``
attribute). Inline CSS only: no script, no network.

Each marked span is one or more ``<span data-gold="k">`` / ``<span data-pred="k">``
segments (k numbers the spans of one sentence), so a page's spans can be counted.

``dvc plots`` shows images but not HTML, so :func:`as_svg` wraps the same markup in
an SVG ``foreignObject`` (no hover there: the HTML page has it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

Span = tuple[int, int]

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: 0.45em 0.6em; vertical-align: top; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f3f3f3; }
td.text { font-size: 1.35em; line-height: 2; white-space: pre-wrap; word-break: break-all; }
td.meta { font-size: 0.85em; color: #555; white-space: nowrap; }
td.notes { font-size: 0.85em; color: #555; width: 14em; }
.legend { line-height: 2; }
.legend span.key { margin-right: 1.4em; padding: 0 0.3em; white-space: nowrap; }
.g { border-bottom: 2px solid #222; }
.g.missed { border-bottom: 3px solid #d62728; }
.p.exact { background: #a8e0a0; }
.p.spurious { background: #ffb366; }
.p.boundary { background: #ffe066; }
.p.pred { background: #a9ccff; }
.joined { border-left: 2px solid #222; }
"""

LEGEND_GOLD = (
    ("g", "gold entity (underlined)"),
    ("g missed", "missed gold entity"),
    ("p exact", "predicted, exact match"),
    ("p boundary", "predicted, wrong boundary"),
    ("p spurious", "predicted, no gold entity"),
    ("g joined", "bar: where touching entities meet"),
)
LEGEND_PRED = (("p pred", "predicted entity"),)


@dataclass(frozen=True)
class ViewSentence:
    """One sentence to show: predicted spans, P(Ent) per character, gold when known."""

    text: str
    pred: Sequence[Span]
    p_ent: Sequence[float]
    gold: Sequence[Span] | None = None
    label: str = ""
    notes: str = ""


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def span_classes(s: ViewSentence) -> tuple[list[str], list[str]]:
    """A CSS class per gold span and per predicted span (see the module docstring)."""
    if s.gold is None:
        return [], ["p pred"] * len(s.pred)
    gold = ["g" if any(_overlaps(g, p) for p in s.pred) else "g missed" for g in s.gold]
    pred = []
    for p in s.pred:
        if tuple(p) in {tuple(g) for g in s.gold}:
            pred.append("p exact")
        elif any(_overlaps(p, g) for g in s.gold):
            pred.append("p boundary")
        else:
            pred.append("p spurious")
    return gold, pred


def _owner(spans: Sequence[Span], i: int) -> int | None:
    return next((k for k, (a, b) in enumerate(spans) if a <= i < b), None)


def _joined(spans: Sequence[Span], k: int, i: int) -> str:
    """`` joined`` at character ``i`` if span ``k`` starts there, where span ``k - 1`` ends."""
    return " joined" if k and i == spans[k][0] == spans[k - 1][1] else ""


def sentence_html(s: ViewSentence) -> str:
    """The sentence's characters, in segments where the gold and predicted span stay the same."""
    if len(s.p_ent) != len(s.text):
        raise ValueError(f"{len(s.text)} characters but {len(s.p_ent)} P(Ent) values")
    gold = s.gold or []
    gold_cls, pred_cls = span_classes(s)
    cuts = sorted({0, len(s.text), *(i for span in [*gold, *s.pred] for i in span)})
    parts = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        chars = "".join(
            f'<span title="P(Ent) {s.p_ent[i]:.3f}">{escape(s.text[i])}</span>' for i in range(a, b)
        )
        g, p = _owner(gold, a), _owner(s.pred, a)
        if p is not None:
            cls = pred_cls[p] + _joined(s.pred, p, a)
            chars = f'<span class="{cls}" data-pred="{p}">{chars}</span>'
        if g is not None:
            cls = gold_cls[g] + _joined(gold, g, a)
            chars = f'<span class="{cls}" data-gold="{g}">{chars}</span>'
        parts.append(chars)
    return "".join(parts)


def row_html(s: ViewSentence) -> str:
    return (
        f'<tr><td class="meta">{escape(s.label)}</td><td class="text">{sentence_html(s)}</td>'
        f'<td class="notes">{escape(s.notes)}</td></tr>\n'
    )


def _top(title: str, intro: str, with_gold: bool) -> str:
    """Heading, introduction, legend and the table's opening tag."""
    legend = " ".join(
        f'<span class="key {cls}">{escape(words)}</span>'
        for cls, words in (LEGEND_GOLD if with_gold else LEGEND_PRED)
    )
    return (
        f"<h1>{escape(title)}</h1>\n<p>{escape(intro)}</p>\n"
        f'<p class="legend">{legend}</p>\n<table>\n'
    )


def page_start(title: str, intro: str, with_gold: bool) -> str:
    """The page up to the first row: head, inline CSS, legend, the table's opening."""
    return (
        '<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + _top(title, intro, with_gold)
    )


PAGE_END = "</table>\n</body>\n</html>\n"


def section_html(heading: str) -> str:
    return f'<tr><th colspan="3">{escape(heading)}</th></tr>\n'


Sections = Sequence[tuple[str, Sequence[ViewSentence]]]


def _rows(sections: Sections) -> str:
    return "".join(
        section_html(heading) + "".join(row_html(s) for s in rows) for heading, rows in sections
    )


def _with_gold(sections: Sections) -> bool:
    return any(s.gold is not None for _, rows in sections for s in rows)


def render(title: str, intro: str, sections: Sections) -> str:
    """The whole page: one table section per ``(heading, sentences)``."""
    return page_start(title, intro, _with_gold(sections)) + _rows(sections) + PAGE_END


def as_svg(title: str, intro: str, sections: Sections, width: int = 1000) -> str:
    """The same view as an SVG image (XHTML in a ``foreignObject``), for ``dvc plots``.

    Its height is estimated from the text lengths (about 28 characters a line).
    """
    lines = sum(math.ceil(max(len(s.text), 1) / 28) for _, rows in sections for s in rows)
    height = 220 + 44 * lines + 16 * sum(len(rows) + 1 for _, rows in sections)
    body = _top(title, intro, _with_gold(sections)) + _rows(sections) + "</table>\n"
    css = CSS.replace("body {", ".view {")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">\n'
        '<rect width="100%" height="100%" fill="white"/>\n'
        f'<foreignObject x="0" y="0" width="{width}" height="{height}">\n'
        '<div xmlns="http://www.w3.org/1999/xhtml" class="view">\n'
        f"<style>{css}</style>\n{body}</div>\n</foreignObject>\n</svg>\n"
    )


def _wrong(row: dict) -> bool:
    return bool(row["errors"] or any(row["error_kinds"].values()))


def from_row(row: dict) -> ViewSentence:
    """A ViewSentence from a ``metrics/view_test.jsonl`` row (as written by evaluate)."""
    kinds = ", ".join(f"{k} {n}" for k, n in row["error_kinds"].items() if n)
    return ViewSentence(
        text=row["text"],
        pred=[(s, e) for s, e, _ in row["pred_spans"]],
        p_ent=row["p_ent"],
        gold=[(s, e) for s, e, _ in row["gold_spans"]],
        label=f"#{row['index']}",
        notes=f"{row['errors']} character errors; {kinds}" if _wrong(row) else "correct",
    )


def errors_sections(rows: Sequence[dict]) -> tuple[str, str, Sections]:
    """Title, introduction and sections of the test view: sentences with errors first
    (as in ``errors_test.jsonl``), then the sample without errors."""
    wrong = [from_row(r) for r in rows if _wrong(r)]
    right = [from_row(r) for r in rows if not _wrong(r)]
    return (
        "Test sentences: gold against predicted entities",
        "The sentences with the most character errors, then entity errors (as in "
        "metrics/errors_test.jsonl), then a seeded random sample of sentences without "
        "errors. Gold entities are the corpus's; predicted ones are the tagger's (runs of Ent, "
        "split where a B/I/O tagger opens a new one). Hover a "
        "character for its P(Ent) (in the HTML page).",
        [
            (f"{len(wrong)} sentences with the most errors", wrong),
            (f"{len(right)} sentences without errors (random sample)", right),
        ],
    )


def errors_page(rows: Sequence[dict]) -> str:
    """The test view as a self-contained HTML page."""
    return render(*errors_sections(rows))


def errors_svg(rows: Sequence[dict]) -> str:
    """The test view as an SVG image (what ``dvc plots show/diff`` displays)."""
    return as_svg(*errors_sections(rows))
