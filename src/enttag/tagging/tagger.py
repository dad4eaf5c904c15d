"""Tag raw text with a trained model: P(Ent), tags and entity spans.

Example::

    tagger = Tagger.load("models/model.pkl")  # torch; or an `enttag export` folder: onnx
    tagger.spans(["张三在北京大学工作。"])  # [[(0, 2, "张三"), (3, 7, "北京大学")]]
    Tagger.load("models/onnx", backend="onnx", int8=True)  # same API, same outputs

Texts of any length are cut into the same overlapping windows as the tokenize
stage (:func:`enttag.encode.charmap.encode_split`), so every character gets exactly one
prediction; a character outside the model's map takes its NFKC form's id, else reads as
the unknown token and is counted (:class:`enttag.encode.charmap.CharLookup`).

A B/I/O model (``model.tags: bio``) also gives each character P(B | Ent): its tags are
``B-Ent``/``I-Ent``/``O`` and two adjacent entities stay apart; an Ent/O model's tags are
``Ent``/``O`` and its entities the runs of Ent (:func:`enttag.labels.tags_of`).

A shipped tagger (``models/tagger.pkl``, written by the fuse stage) may carry a CRF
and a fusion rule: its probabilities are then the encoder's mixed with the CRF's
marginals (:mod:`enttag.fusion`), and its default cut is the one chosen on dev with the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from enttag.encode.batching import iterate
from enttag.encode.charmap import CharLookup, Specials
from enttag.encode.windows import CharSheet, encode_split
from enttag.errors import EnttagError
from enttag.fusion import Fusion
from enttag.labels import ARGMAX, spans_from_probs, tags_from_probs

BACKENDS = ("auto", "torch", "onnx")


class Tagger:
    """A loaded enttag model: its backend, character map and windowing settings.

    ``backend`` maps a padded batch ``(input_ids, attention_mask)`` to P(Ent) and
    P(B | Ent) per position (:mod:`enttag.tagging.backends`); everything else is shared.
    """

    def __init__(
        self,
        backend: Any,
        *,
        char_map: dict[str, int],
        specials: Specials,
        max_length: int,
        stride: int,
        dev_threshold: float | None,
        tags: str = "io",
        fusion: dict[str, Any] | None = None,
        crf_model: bytes | None = None,
    ):
        self.backend, self.tags = backend, tags
        self.char_map, self.specials = char_map, specials
        self.lookup = CharLookup(char_map, specials.unk)
        self.max_length, self.stride = max_length, stride
        self.dev_threshold = dev_threshold
        self.fusion, self.crf = None, None
        if fusion is not None:
            from enttag.baseline.marginals import CrfMarginals

            if crf_model is None:
                raise EnttagError("a fused tagger needs its CRF model; none was found")
            self.fusion = Fusion.from_dict(fusion)
            self.crf = CrfMarginals(crf_model, int(fusion["window"]))
            if self.crf.tags != tags:
                raise EnttagError(
                    f"the encoder's tag scheme is {tags!r} but its CRF's is {self.crf.tags!r}: "
                    "run the fuse stage again (dvc repro)"
                )
            self.dev_threshold = self.fusion.threshold  # chosen on dev with the rule

    @property
    def default_cut(self) -> float:
        """The cut applied when none is given: the fusion's own, else the argmax (0.5)."""
        return self.fusion.threshold if self.fusion is not None else ARGMAX

    @classmethod
    def load(
        cls, path: str | Path, device: str = "auto", backend: str = "auto", int8: bool = False
    ) -> Tagger:
        """Load a ``.pkl`` model file (torch) or an ``enttag export`` folder (onnx).

        ``backend="auto"`` picks onnx for a folder and torch for a file; ``int8``
        quantises the torch model's linear layers, or picks the export's int8 graph.
        Raises EnttagError if the model is missing or not an enttag model.
        """
        if backend not in BACKENDS:
            raise EnttagError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "auto":
            backend = "onnx" if Path(path).is_dir() else "torch"
        if backend == "onnx":
            return cls._load_onnx(path, device, int8)
        return cls._load_torch(path, device, int8)

    @classmethod
    def _load_torch(cls, path: str | Path, device: str, int8: bool) -> Tagger:
        from enttag.model.inference import resolve_device
        from enttag.model.network import model_from_checkpoint, read_checkpoint
        from enttag.tagging.backends import TorchBackend

        if Path(path).is_dir():
            raise EnttagError(f"{path}: a folder; the torch backend reads a .pkl model file")
        checkpoint = read_checkpoint(path)
        model = model_from_checkpoint(checkpoint)
        return cls(
            TorchBackend(model, resolve_device(device), int8=int8),
            char_map=checkpoint["char_to_id"],
            specials=Specials(**checkpoint["specials"]),
            max_length=checkpoint["max_length"],
            stride=checkpoint["stride"],
            dev_threshold=checkpoint.get("threshold"),
            tags=checkpoint["tags"],
            fusion=checkpoint.get("fusion"),
            crf_model=checkpoint.get("crf_model"),
        )

    @classmethod
    def _load_onnx(cls, path: str | Path, device: str, int8: bool) -> Tagger:
        from enttag.tagging.backends import OnnxBackend
        from enttag.tagging.export import META, crf_model_of, graph_path, read_meta
        from enttag.tagging.graph_meta import check_meta

        if device not in ("auto", "cpu"):
            raise EnttagError(f"the onnx backend runs on the CPU, not {device}")
        meta = read_meta(path)
        backend = OnnxBackend(graph_path(path, int8))
        check_meta(Path(path) / META, meta, backend.session.get_modelmeta().custom_metadata_map)
        return cls(
            backend,
            char_map=meta["char_to_id"],
            specials=Specials(**meta["specials"]),
            max_length=meta["max_length"],
            stride=meta["stride"],
            dev_threshold=meta.get("threshold"),
            tags=meta["tags"],
            fusion=meta.get("fusion"),
            crf_model=crf_model_of(path, meta),
        )

    def cut(self, threshold: float | None = None, use_dev_threshold: bool = False) -> float:
        """The P(Ent) cut to apply: ``threshold``, the dev-tuned one, or :attr:`default_cut`."""
        if use_dev_threshold:
            if threshold is not None:
                raise EnttagError("give a threshold or use the dev threshold, not both")
            if self.dev_threshold is None:
                raise EnttagError("this model recorded no dev-tuned threshold; give a number")
            return float(self.dev_threshold)
        return self.default_cut if threshold is None else threshold

    def probs(self, texts: Sequence[str], batch_size: int = 64) -> list[np.ndarray]:
        """P(Ent) per character of each text (``batch_size`` windows per forward pass);
        a fused tagger's mixes the encoder's with the CRF's."""
        return [p[:, 0] for p in self.outputs(texts, batch_size)]

    def outputs(self, texts: Sequence[str], batch_size: int = 64) -> list[np.ndarray]:
        """P(Ent) and P(B | Ent) per character of each text, (n, 2) per text."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string")
        if not texts:
            return []
        data = encode_split(
            texts,
            None,
            self.char_map,
            self.specials,
            self.max_length,
            self.stride,
            encode=self.lookup.ids,
        )
        sheet = CharSheet(data, channels=2)
        for batch in iterate(data, batch_size, self.specials.pad, shuffle=False):
            probs = self.backend(batch["input_ids"], batch["attention_mask"])
            for row, w in enumerate(batch["index"].tolist()):
                sheet.put(w, probs[row])
        probs = sheet.per_sentence()
        if self.fusion is None:
            return probs
        crf = self.crf.probs(texts)
        return [self.fusion.mix(p, q) for p, q in zip(probs, crf, strict=True)]

    def _begin(self, probs: np.ndarray) -> np.ndarray | None:
        """P(B | Ent) of a B/I/O tagger; None for an Ent/O one (entities are runs of Ent)."""
        return probs[:, 1] if self.tags == "bio" else None

    def tag(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        *,
        use_dev_threshold: bool = False,
        batch_size: int = 64,
    ) -> list[list[str]]:
        """``"Ent"``/``"O"`` per character of each text; ``"B-Ent"``/``"I-Ent"``/``"O"``
        from a B/I/O tagger."""
        cut = self.cut(threshold, use_dev_threshold)
        return [
            tags_from_probs(p[:, 0], cut, self._begin(p)) for p in self.outputs(texts, batch_size)
        ]

    def spans(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        *,
        use_dev_threshold: bool = False,
        batch_size: int = 64,
    ) -> list[list[tuple[int, int, str]]]:
        """Entity spans of each text as ``(start, end, entity text)``, half-open."""
        cut = self.cut(threshold, use_dev_threshold)
        return [
            spans_from_probs(t, p[:, 0], cut, self._begin(p))
            for t, p in zip(texts, self.outputs(texts, batch_size), strict=True)
        ]
