"""Input corruption for training the synthesis networks on the way from a random video to a real one.

Synthesis (seed 003 §3.5) starts from uniform noise in [-1, 1]; networks trained on clean clips only
have never seen such inputs. These corruptions are our options (off by default; the seed trains on
clean clips): the denoising tempCAE (``autoencoder.dae``) and the noise-trained C3D
(``classifier.noise_level``) use them.
"""

from __future__ import annotations

import torch

__all__ = ["CORRUPTIONS", "corrupt", "check_corruption", "describe_corruption"]

CORRUPTIONS = ("gaussian", "blend")


def check_corruption(kind: str, level: float, key: str | None = None, level_name: str = "level") -> None:
    """Refuse an unknown kind or a level out of range, naming the config keys (``key.corruption``,
    ``key.<level_name>``, e.g. ``classifier.noise_level``)."""
    where = f"{key}." if key else ""
    if kind not in CORRUPTIONS:
        raise ValueError(f"{where}corruption={kind!r} is unknown; expected one of {CORRUPTIONS}")
    if not level >= 0 or (kind == "blend" and level > 1):
        bound = "in [0, 1] (the largest blend weight of the noise)" if kind == "blend" else ">= 0"
        raise ValueError(f"{where}{level_name}={level!r} for corruption={kind!r} must be {bound}")


def corrupt(x: torch.Tensor, kind: str, level: float, key: str | None = None) -> torch.Tensor:
    """Corrupt a batch ``(N, C, T, H, W)`` of clips or windows in [-1, 1].

    ``gaussian``: ``x + level * N(0, 1)``, clamped. ``blend``: ``(1 - a) x + a u`` with ``u`` uniform
    noise in [-1, 1] (synthesis's random start) and ``a ~ U(0, level)`` per item, so the network sees
    every point on the way from a random video (``a = 1``) to a real one (``a = 0``).
    """
    check_corruption(kind, level, key)
    if kind == "gaussian":
        return (x + level * torch.randn_like(x)).clamp(-1, 1)
    a = level * torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device, dtype=x.dtype)
    return (1 - a) * x + a * (torch.rand_like(x) * 2 - 1)


def describe_corruption(kind: str, level: float) -> str | None:
    """``"blend 0.5"`` for the tables and settings; ``None`` when the level is 0 (clean training)."""
    return f"{kind} {float(level):g}" if float(level) > 0 else None
