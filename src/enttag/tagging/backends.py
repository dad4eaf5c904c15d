"""What runs the network: a padded batch of windows in, P(Ent) and P(B | Ent) per token
position out.

A backend is only the forward pass. Windows, batching by length and stitching the
windows back into sentences are the Tagger's shared code
(:mod:`enttag.encode.windows`, :mod:`enttag.encode.batching`), whatever the backend.

- :class:`TorchBackend`: the ``.pkl`` model in PyTorch, fp32 or with its ``nn.Linear``
  layers quantised to int8 (``torch.ao.quantization.quantize_dynamic``, CPU only).
- :class:`OnnxBackend`: a graph written by ``enttag export``, run by ONNX Runtime.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from enttag.errors import EnttagError
from enttag.model.network import EntityTagger

INPUTS = ("input_ids", "attention_mask")
OUTPUT = "probs"


class PEnt(nn.Module):
    """The tagger with its softmax (or CRF marginals): ``(input_ids, attention_mask) ->
    [P(Ent), P(B | Ent)]`` of shape [batch, sequence, 2].

    The graph ``enttag export`` writes, and what the torch backend runs, so both
    compute the same function.
    """

    def __init__(self, model: EntityTagger):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits = self.model(input_ids, attention_mask).float()
        return self.model.probs(logits, attention_mask)


def cpu_threads() -> int:
    """Every core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def quantize_linear(module: nn.Module) -> nn.Module:
    """``nn.Linear`` layers as dynamic int8 (weights int8, activations quantised per batch)."""
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
        warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
        return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8)


class TorchBackend:
    """The PyTorch model (fp32, or int8 ``nn.Linear`` on CPU)."""

    name = "torch"

    def __init__(self, model: EntityTagger, device: torch.device, int8: bool = False):
        if int8 and device.type != "cpu":
            raise EnttagError(f"int8 with the torch backend runs on the CPU only, not {device}")
        net = PEnt(model.to(device).eval()).eval()
        self.net = quantize_linear(net) if int8 else net
        self.device, self.int8 = device, int8

    @property
    def model(self) -> EntityTagger:
        return self.net.model

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
        p = self.net(input_ids.to(self.device), attention_mask.to(self.device))
        return p.cpu().numpy()


class OnnxBackend:
    """An exported ONNX graph, run by ONNX Runtime on the CPU with every core."""

    name = "onnx"

    def __init__(self, graph: Path, threads: int | None = None):
        import onnxruntime as ort  # only needed when an exported model is used

        if not graph.is_file():
            raise EnttagError(f"{graph}: ONNX graph not found (written by `enttag export`)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_threads()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(graph), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own, unrelated exception types
            raise EnttagError(f"{graph}: not a loadable ONNX graph ({e})") from e
        self.graph = graph

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
        feed = {
            INPUTS[0]: input_ids.numpy().astype(np.int64, copy=False),
            INPUTS[1]: attention_mask.numpy().astype(np.int64, copy=False),
        }
        return self.session.run([OUTPUT], feed)[0]
