"""Output formats of ``enttag predict`` that frame their texts: an HTML entity view and
Label Studio pre-annotations.

A :class:`Format` writes ``head``, then one block per text joined by ``separator``,
then ``tail``, so texts are written as they are tagged. A block gets the text, its P(Ent)
and (from a B/I/O tagger, else None) P(B | Ent) per character, the cut, and whether to
add the probabilities.

Label Studio: one task per text, ``{"data": {"text": ...}, "predictions": [{"model_version":
"enttag", "result": [...]}]}``, each result a ``labels`` region with half-open character
offsets ``start``/``end`` into ``data.text``, for a labelling config such as::

    <View><Labels name="label" toName="text"><Label value="Ent"/></Labels>
    <Text name="text" value="$text"/></View>
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from enttag.experiments import entity_view
from enttag.labels import spans_from_probs

Block = Callable[[str, np.ndarray, np.ndarray | None, float, bool], str]


class Format(NamedTuple):
    block: Block
    separator: str
    head: str = ""
    tail: str = ""


def html_row(text: str, p_ent: np.ndarray, p_begin: np.ndarray | None, cut: float, _: bool) -> str:
    spans = [(s, e) for s, e, _ in spans_from_probs(text, p_ent, cut, p_begin)]
    view = entity_view.ViewSentence(text, spans, p_ent.tolist())
    return entity_view.row_html(view)


HTML = Format(
    html_row,
    "",
    entity_view.page_start(
        "enttag predictions",
        "Predicted entities highlighted; hover a character for its P(Ent).",
        with_gold=False,
    )
    + entity_view.section_html("texts"),
    entity_view.PAGE_END,
)


def label_studio_task(
    text: str, p_ent: np.ndarray, p_begin: np.ndarray | None, cut: float, _: bool = False
) -> dict:
    """One Label Studio task holding the predicted spans as pre-annotations."""
    result = [
        {
            "id": f"ent{k}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": s, "end": e, "text": entity, "labels": ["Ent"]},
        }
        for k, (s, e, entity) in enumerate(spans_from_probs(text, p_ent, cut, p_begin))
    ]
    return {"data": {"text": text}, "predictions": [{"model_version": "enttag", "result": result}]}


def label_studio_block(
    text: str, p_ent: np.ndarray, p_begin: np.ndarray | None, cut: float, _: bool
) -> str:
    return json.dumps(label_studio_task(text, p_ent, p_begin, cut), ensure_ascii=False)


LABEL_STUDIO = Format(label_studio_block, ",\n", "[\n", "\n]\n")
