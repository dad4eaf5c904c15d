"""Data-parallel training with PyTorch's own launcher and DistributedDataParallel.

Without a launcher the training loop is one plain process. With ``train.processes`` > 1
the train stage re-executes itself under ``torch.distributed.run`` (what ``torchrun``
runs); a process started by a launcher (``WORLD_SIZE`` set) joins the process group
instead. Every process builds the same global batch (same data, same seed), trains on
its share of the rows, and DDP averages the gradients. Each share's loss is its
class-weighted sum over the *global* batch's weight total, times the number of
processes, so the averaged gradient is the single-process one whatever the split, and
``train.batch_size`` stays the global batch. Rank 0 alone logs, evaluates and writes.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from enttag.encode.windows import IGNORE
from enttag.model.inference import resolve_device

# A peer silent this long fails the collective instead of waiting (an evaluation on
# rank 0 of a large dev split stays well below it).
GROUP_TIMEOUT = timedelta(minutes=30)
TORCHRUN_ENV = "ENTTAG_TORCHRUN"  # extra torchrun options, e.g. "--nnodes 2 --node-rank 0 ..."


def relaunch(processes: int, module: str) -> None:
    """Re-execute ``python -m module`` under ``torch.distributed.run``, ``processes`` per machine.

    Does nothing in a process a launcher started, or for one process without
    ``ENTTAG_TORCHRUN`` options; otherwise never returns.
    """
    extra = shlex.split(os.environ.get(TORCHRUN_ENV, ""))
    if "WORLD_SIZE" in os.environ or (processes == 1 and not extra):
        return
    cmd = [sys.executable, "-m", "torch.distributed.run", *(extra or ["--standalone"])]
    cmd += [f"--nproc-per-node={processes}", "-m", module]
    print("+", shlex.join(cmd), flush=True)
    os.execv(sys.executable, cmd)


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (rank 0 of 1 without a launcher)."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")  # where collectives put their tensors

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to run forward and backward through: DDP over ``model`` when distributed."""
        if self.world == 1:
            return model
        return DistributedDataParallel(
            model,
            device_ids=[self.device] if self.device.type == "cuda" else None,
            forward_sync_buffers=False,  # no batch norm: the buffers never change
            find_unused_parameters=True,  # the encoder's pooler takes no part in the loss
        )

    def share(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This process's rows of a global batch.

        A process left without rows (a last batch smaller than the number of processes)
        gets one row whose labels all count for nothing, so it still joins the all-reduce.
        """
        if self.world == 1:
            return batch
        rows = torch.arange(len(batch["input_ids"])).tensor_split(self.world)[self.rank]
        if len(rows):
            return {key: value[rows] for key, value in batch.items()}
        part = {key: value[:1] for key, value in batch.items()}
        part["tags"] = torch.full_like(part["tags"], IGNORE)
        return part

    def mean(self, total: torch.Tensor, norm: torch.Tensor) -> tuple[torch.Tensor, float]:
        """What to backpropagate for this share, and the global batch's mean loss.

        ``total`` is this share's summed loss and ``norm`` its normaliser (see
        ``EntityTagger.loss_terms``); the global mean divides by the normalisers of all
        shares, and DDP averages gradients, hence the factor ``world``.
        """
        if self.world == 1:
            loss = total / norm
            return loss, loss.item()
        norm = norm.detach().clone().to(self.device)
        dist.all_reduce(norm)
        part = total / norm
        value = part.detach().clone()
        dist.all_reduce(value)
        return part * self.world, value.item()

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set in any process (rank 0's early stop, a signal anywhere)."""
        if self.world == 1:
            return flag
        value = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def from_main(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process (e.g. the resume checkpoint it read)."""
        if self.world == 1:
            return obj
        sent = [obj]
        dist.broadcast_object_list(sent, src=0)
        return sent[0]

    def close(self) -> None:
        """Leave the process group together: a barrier, then its teardown.

        Call it only once nothing else holds the group: a live DDP wrapper's Reducer
        tears the group down again when it is freed, and gloo then joins threads that
        wait for peers already gone (a hang until the group timeout; pytorch#75097).
        """
        if self.world > 1:
            dist.barrier()
            dist.destroy_process_group()


def setup(device_name: str) -> tuple[Processes, torch.device]:
    """This process's place and device; under a launcher, join the process group.

    On CUDA, process ``LOCAL_RANK`` uses ``cuda:LOCAL_RANK`` and NCCL; on CPU, gloo,
    with the cores shared among the processes of this machine.
    """
    device = resolve_device(device_name)
    if "WORLD_SIZE" not in os.environ:
        return Processes(), device
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, torch.get_num_threads() // local_world))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=GROUP_TIMEOUT)
    return Processes(dist.get_rank(), dist.get_world_size(), device), device
