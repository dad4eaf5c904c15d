"""The tagger (pretrained encoder + dropout + one linear layer, optionally a CRF) and its `.pkl`.

The `.pkl` is a ``torch.save`` of plain data (tensors, numbers, strings, lists,
dicts): it loads with ``torch.load(..., weights_only=True)``, so opening a model
never runs pickled code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.utils import logging as transformers_logging

from enttag.atomic import write_with
from enttag.encode.charmap import Specials
from enttag.encode.windows import IGNORE
from enttag.errors import EnttagError
from enttag.labels import CLASSES, ENT, OUTSIDE, SCHEMES, TAG_B, TAG_I, TAG_O
from enttag.model.crf import LinearChainCRF
from enttag.model.inference import weighted_loss

FORMAT = "enttag-model/2"  # /2: the head and the tag scheme are recorded
REQUIRED = (
    "state_dict",
    "encoder_config",
    "char_to_id",
    "specials",
    "labels",
    "tags",
    "head",
    "max_length",
    "stride",
)


def class_weights(tags: str, ent_weight: float, o_weight: float) -> torch.Tensor:
    """Cross-entropy weights of the head's classes: ``ent_weight`` on Ent (on B and I)."""
    weights = {"io": [ent_weight, o_weight], "bio": [ent_weight, ent_weight, o_weight]}
    return torch.tensor(weights[tags], dtype=torch.float32)


class EntityTagger(nn.Module):
    """Encoder + dropout + ``nn.Linear(hidden, classes)`` over every token position.

    ``tags="io"``: two classes, Ent and O; ``"bio"``: three, B (opens an entity), I and
    O (``labels.CLASSES``), so two adjacent entities stay apart. ``head="crf"`` adds a
    linear-chain CRF on the linear layer's scores (:mod:`enttag.model.crf`): the loss is
    its negative log-likelihood and the probabilities its marginals; ``"linear"`` is the
    class-weighted cross-entropy and the softmax.
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        dropout: float = 0.0,
        head: str = "linear",
        tags: str = "io",
    ):
        super().__init__()
        if tags not in SCHEMES:
            raise EnttagError(f"tag scheme must be one of {', '.join(SCHEMES)}, not {tags!r}")
        self.encoder = encoder
        self.tags, self.classes = tags, CLASSES[tags]
        self.outside = OUTSIDE if tags == "io" else TAG_O
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, len(self.classes))
        self.crf = LinearChainCRF(len(self.classes)) if head == "crf" else None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(hidden))

    def targets(self, tags: torch.Tensor) -> torch.Tensor:
        """The head's class ids of B/I/O tag ids: as they are, or (Ent/O) B and I as Ent."""
        if self.tags == "bio":
            return tags
        ent = (tags == TAG_B) | (tags == TAG_I)
        return torch.where(ent, ENT, torch.where(tags == TAG_O, OUTSIDE, IGNORE))

    def loss_terms(
        self,
        logits: torch.Tensor,
        tags: torch.Tensor,
        attention_mask: torch.Tensor,
        weights: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss summed, its normaliser); the mean loss is their ratio. ``tags`` are B/I/O
        ids (``IGNORE`` at specials and padding), ``weights`` :func:`class_weights`.

        Linear head: class-weighted cross-entropy over the labelled positions, normalised
        by their summed class weights (as ``cross_entropy(weight=...)`` averages). CRF
        head: the sequences' negative log-likelihood (special tokens tagged ``O``; class
        weights unused), normalised by the number of labelled positions.
        """
        labels = self.targets(tags)
        labelled = labels != IGNORE
        if self.crf is None:
            weights = weights.to(logits.device)
            total = weighted_loss(logits.flatten(0, 1), labels.flatten(), weights, "sum")
            return total, weights[labels[labelled]].sum()
        path = torch.where(labelled, labels, self.outside)
        return self.crf.nll(logits, path, attention_mask), labelled.sum().to(logits.dtype)

    def probs(self, logits: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """P(Ent) and P(B | Ent) of every position, (B, L, 2), from the softmax or the CRF's
        marginals; an Ent/O model's P(B | Ent) is 0 (it cannot tell, see ``labels``)."""
        if self.crf is None:
            p = torch.softmax(logits, dim=-1)
        else:
            p = self.crf.marginals(logits, attention_mask)
        if self.tags == "io":
            p_ent = p[..., ENT]
            return torch.stack([p_ent, torch.zeros_like(p_ent)], dim=-1)
        p_ent = p[..., TAG_B] + p[..., TAG_I]
        return torch.stack([p_ent, p[..., TAG_B] / p_ent.clamp_min(1e-12)], dim=-1)


def load_encoder(folder: str | Path, num_layers: int | None, dropout: float) -> PreTrainedModel:
    """``AutoModel.from_pretrained`` keeping the first ``num_layers`` layers, with ``dropout``."""
    overrides: dict[str, Any] = {
        "hidden_dropout_prob": dropout,
        "attention_probs_dropout_prob": dropout,
    }
    if num_layers is not None:
        depth = AutoConfig.from_pretrained(str(folder)).num_hidden_layers
        if num_layers > depth:
            raise EnttagError(
                f"model.num_layers is {num_layers} but the encoder in {folder} has only "
                f"{depth} layers; use at most {depth}, or null for all"
            )
        overrides["num_hidden_layers"] = num_layers
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # dropped layers and an unused pooler are expected
    try:
        return AutoModel.from_pretrained(str(folder), **overrides)
    finally:
        transformers_logging.set_verbosity(verbosity)


def freeze_lower(encoder: PreTrainedModel, num_layers: int) -> None:
    """No gradient for the embeddings and the first ``num_layers`` layers (0: freeze nothing).

    Backpropagation then stops above them: a frozen layer costs its forward pass only.
    """
    if num_layers == 0:
        return
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise EnttagError(
            f"train.freeze_layers needs a BERT-style encoder (encoder.layer), "
            f"not {type(encoder).__name__}; use 0"
        )
    if num_layers > len(layers):
        raise EnttagError(
            f"train.freeze_layers is {num_layers} but the encoder has {len(layers)} layers"
        )
    for module in (encoder.embeddings, *layers[:num_layers]):
        module.requires_grad_(False)


def prune_embeddings(encoder: PreTrainedModel, kept: list[int], pad_id: int) -> None:
    """Keep only the embedding rows ``kept`` (``new_id -> old_id``), in place."""
    old = encoder.get_input_embeddings()
    new = nn.Embedding(len(kept), old.embedding_dim, padding_idx=pad_id)
    with torch.no_grad():
        new.weight.copy_(old.weight[torch.tensor(kept)])
    encoder.set_input_embeddings(new)
    encoder.config.vocab_size = len(kept)
    encoder.config.pad_token_id = pad_id
    if hasattr(getattr(encoder, "embeddings", None), "padding_idx"):
        encoder.embeddings.padding_idx = pad_id  # RoBERTa-style position ids count from it


def save_model(
    path: str | Path,
    model: EntityTagger,
    *,
    char_map: dict[str, int],
    specials: Specials,
    max_length: int,
    stride: int,
    extra: dict[str, Any],
) -> None:
    """Write the model file atomically; ``extra`` holds params, dev scores, threshold."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    checkpoint = {
        "format": FORMAT,
        "state_dict": state,
        "encoder_config": model.encoder.config.to_dict(),
        "char_to_id": char_map,
        "specials": vars(specials),
        "labels": list(model.classes),
        "tags": model.tags,
        "head": "crf" if model.crf is not None else "linear",
        "max_length": max_length,
        "stride": stride,
        **extra,
    }
    write_checkpoint(path, checkpoint)


def write_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    """Write a model file's dict atomically (same dict, same bytes)."""
    write_with(path, lambda tmp: save_bytes(checkpoint, tmp))


def save_bytes(obj: Any, path: Path) -> None:
    """``torch.save`` through a file object: the zip's inner folder is then always
    ``archive/``, not the (temporary, random) file name, so equal objects give equal bytes."""
    with path.open("wb") as f:
        torch.save(obj, f)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a model file safely (``weights_only=True``) and check it is an enttag model."""
    path = Path(path)
    if not path.is_file():
        raise EnttagError(f"{path}: model file not found")
    if path.stat().st_size == 0:
        raise EnttagError(f"{path}: empty file, not an enttag model (re-run: dvc repro train)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise EnttagError(
            f"{path}: not an enttag model (refused to load it safely: {first})"
        ) from e
    marker = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if isinstance(marker, str) and marker.startswith("enttag-model/") and marker != FORMAT:
        raise EnttagError(
            f"{path}: written in format {marker!r}, this enttag reads {FORMAT!r} "
            "(a newer or older enttag made it; use that version or retrain)"
        )
    if marker != FORMAT:
        raise EnttagError(f"{path}: not an enttag model (no '{FORMAT}' marker)")
    missing = [key for key in REQUIRED if key not in checkpoint]
    if missing:
        raise EnttagError(f"{path}: damaged enttag model, missing {', '.join(missing)}")
    return checkpoint


def model_from_checkpoint(checkpoint: dict[str, Any]) -> EntityTagger:
    """Rebuild the tagger from a checkpoint read by :func:`read_checkpoint`."""
    config_dict = dict(checkpoint["encoder_config"])
    config = AutoConfig.for_model(config_dict.pop("model_type"), **config_dict)
    model = EntityTagger(
        AutoModel.from_config(config), head=checkpoint["head"], tags=checkpoint["tags"]
    )
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
