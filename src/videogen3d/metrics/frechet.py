"""Fréchet distance between two feature sets (the FID formula on any network's features).

Used by the automated judge of seed 003's Table 1 (our stand-in for §4.4's crowd) on the judge
network's pooled features of synthesized and real clips. torchmetrics' FrechetInceptionDistance
is built around an Inception feature extractor; the formula itself is a few lines, written here
without scipy: ``tr sqrt(S1 S2)`` is the sum of the square roots of the eigenvalues of the
symmetric ``sqrt(S1) S2 sqrt(S1)`` (``torch.linalg.eigh``), in float64.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

__all__ = ["frechet_distance", "FeatureFrechetDistance"]


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``||mu1 - mu2||^2 + tr(S1 + S2 - 2 sqrt(S1 S2))`` for Gaussians fitted to two feature sets."""
    mu1, mu2, s1, s2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    r1 = _sqrtm_psd(s1)
    cross = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp(min=0).sqrt().sum()
    return ((mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * cross).clamp(min=0)


class FeatureFrechetDistance(Metric):
    """Accumulates features ``(B, D)`` of a *real* and a *fake* set; ``compute()`` -> their Fréchet distance."""

    full_state_update = False
    higher_is_better = False

    def __init__(self, num_features: int, **kwargs) -> None:
        super().__init__(**kwargs)
        d = int(num_features)
        for tag in ("real", "fake"):
            self.add_state(f"{tag}_sum", torch.zeros(d, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{tag}_outer", torch.zeros(d, d, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{tag}_n", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, features: torch.Tensor, real: bool) -> None:
        f = features.detach().double().flatten(1)
        tag = "real" if real else "fake"
        setattr(self, f"{tag}_sum", getattr(self, f"{tag}_sum") + f.sum(0))
        setattr(self, f"{tag}_outer", getattr(self, f"{tag}_outer") + f.T @ f)
        setattr(self, f"{tag}_n", getattr(self, f"{tag}_n") + len(f))

    def _moments(self, tag: str) -> tuple[torch.Tensor, torch.Tensor]:
        n = getattr(self, f"{tag}_n")
        if n < 2:
            raise ValueError(f"FeatureFrechetDistance needs at least 2 {tag} samples, got {int(n)}")
        mu = getattr(self, f"{tag}_sum") / n
        cov = (getattr(self, f"{tag}_outer") - n * torch.outer(mu, mu)) / (n - 1)
        return mu, cov

    def compute(self) -> torch.Tensor:
        return frechet_distance(*self._moments("real"), *self._moments("fake")).float()
