"""A linear-chain CRF output layer over per-token emission scores (the BERT-CRF tagger).

Tags of neighbouring characters are scored together through a learned transition
matrix, with start and end scores. Sequences are the attended positions of a window
(a prefix of each row: ``[CLS]``, the characters, ``[SEP]``); the special tokens take
the ``O`` tag. Training minimises the negative log-likelihood (forward algorithm);
P(tag) of every position is its marginal probability (forward-backward), so a
threshold on P(Ent) works as with the linear head.
"""

from __future__ import annotations

import torch
from torch import nn


class LinearChainCRF(nn.Module):
    """Transition, start and end scores for ``num_tags`` tags."""

    def __init__(self, num_tags: int):
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))

    def _alphas(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """Forward log-scores per position (B, T); a masked position repeats the last one."""
        alpha = self.start + emissions[:, 0]
        alphas = [alpha]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha[:, :, None] + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], step, alpha)
            alphas.append(alpha)
        return alphas

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z of every sequence, (B,)."""
        return torch.logsumexp(self._alphas(emissions, mask)[-1] + self.end, dim=1)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor):
        """Score of the tag sequence ``tags`` (B, L) over the masked prefix, (B,)."""
        rows = torch.arange(len(tags), device=tags.device)
        score = self.start[tags[:, 0]] + emissions[rows, 0, tags[:, 0]]
        for t in range(1, tags.shape[1]):
            step = self.transitions[tags[:, t - 1], tags[:, t]] + emissions[rows, t, tags[:, t]]
            score = score + step * mask[:, t]
        last = tags[rows, mask.sum(dim=1) - 1]
        return score + self.end[last]

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor):
        """Negative log-likelihood of ``tags``, summed over the batch."""
        mask = mask.bool()
        return (self.log_partition(emissions, mask) - self.path_score(emissions, tags, mask)).sum()

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(tag) of every position, (B, L, T) (forward-backward); rows past the mask are junk."""
        mask = mask.bool()
        alphas = self._alphas(emissions, mask)
        log_z = torch.logsumexp(alphas[-1] + self.end, dim=1)
        beta = self.end.expand_as(alphas[-1])
        betas = [beta]
        for t in range(emissions.shape[1] - 2, -1, -1):
            nxt = emissions[:, t + 1] + beta
            step = torch.logsumexp(self.transitions + nxt[:, None, :], dim=2)
            beta = torch.where(mask[:, t + 1, None], step, self.end.expand_as(step))
            betas.append(beta)
        betas.reverse()
        log_p = torch.stack(alphas, dim=1) + torch.stack(betas, dim=1) - log_z[:, None, None]
        return log_p.exp()
