"""Image-quality columns of the report: sharpness relative to the target and an in-domain Fréchet distance.

- **Sharpness ratio**: the mean spatial gradient magnitude of the generated frames divided by the
  target frames' (1 = as sharp as the target; below 1 = blurrier, the seed's "vague"). The Laplacian
  variance ratio is reported beside it.
- **Fréchet distance** (``videogen3d.metrics.frechet``) between real and generated validation clips on
  the features of a small 3D-conv auto-encoder trained on the domain's own training targets (an
  Inception network knows nothing of stick figures and puppets, and none can be downloaded here).
  The feature network is trained once per dataset geometry, seeded, and cached in the report folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn

from videogen3d.metrics.frechet import FeatureFrechetDistance
from videogen3d.utils.io import atomic_path


def gradient_magnitude(video: torch.Tensor) -> torch.Tensor:
    """Mean |spatial gradient| of ``(B, C, T, H, W)`` frames (finite differences along H and W)."""
    dy = video[..., 1:, :-1] - video[..., :-1, :-1]
    dx = video[..., :-1, 1:] - video[..., :-1, :-1]
    return (dx.square() + dy.square()).sqrt().mean()


def laplacian_variance(video: torch.Tensor) -> torch.Tensor:
    """Variance of the 4-neighbour Laplacian of the grey frames: the classic focus measure."""
    grey = video.mean(1).flatten(0, 1)[:, None]  # (B*T, 1, H, W)
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=grey.dtype).view(1, 1, 3, 3)
    return F.conv2d(grey, kernel).var()


def sharpness(fake: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    return {"sharpness_ratio": float(gradient_magnitude(fake) / gradient_magnitude(target).clamp_min(1e-8)),
            "laplacian_ratio": float(laplacian_variance(fake) / laplacian_variance(target).clamp_min(1e-12))}


class DomainEncoder(nn.Module):
    """A small 3D-conv auto-encoder; its encoder's per-frame pooled features feed the Fréchet distance."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv3d(3, width // 2, 3, stride=(1, 2, 2), padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(width // 2, width, 3, stride=(1, 2, 2), padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(width, width, 3, stride=(1, 2, 2), padding=1))  # a linear code: a tanh here saturated
            # within 400 steps on some seeds (every feature +-1, every Fréchet distance 0)
        up = dict(kernel_size=(1, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1))
        self.decoder = nn.Sequential(
            nn.ConvTranspose3d(width, width, **up), nn.LeakyReLU(0.2),
            nn.ConvTranspose3d(width, width // 2, **up), nn.LeakyReLU(0.2),
            nn.ConvTranspose3d(width // 2, 3, **up), nn.Tanh())

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(video))

    @torch.no_grad()
    def features(self, video: torch.Tensor) -> torch.Tensor:
        """``(B*T, width*4)``: each frame's code pooled to 2x2 cells (where things are, not only what)."""
        z = F.adaptive_avg_pool3d(self.encoder(video), (video.shape[2], 2, 2))  # (B, C, T, 2, 2)
        return z.permute(0, 2, 1, 3, 4).flatten(2).flatten(0, 1)


# what makes a domain: the frames themselves, not how they are cut into clips or batched, so that every
# trial on the same data (A-17's 8-frame clips included) is measured by one feature network
DOMAIN_KEYS = ("source", "frame_size", "frame_step", "val_fraction", "test_fraction", "seed")


def _geometry_key(dataset_cfg: Any) -> str:
    from omegaconf import OmegaConf

    dataset = OmegaConf.to_container(dataset_cfg, resolve=True)
    text = json.dumps({k: dataset.get(k) for k in DOMAIN_KEYS}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def domain_encoder(datamodule, dataset_cfg: Any, cache_dir: Path, steps: int = 400, seed: int = 0) -> DomainEncoder:
    """The domain's feature network: trained on training-split targets (seeded), cached per dataset config."""
    path = Path(cache_dir) / f"domain_encoder_v2_{_geometry_key(dataset_cfg)}_{steps}.pt"
    net = DomainEncoder()
    if path.is_file():
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loader = datamodule.train_dataloader()
    step = 0
    while step < steps:
        for batch in loader:
            target = datamodule.on_after_batch_transfer(batch, 0)["target"]
            loss = F.mse_loss(net(target), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step >= steps:
                break
    with atomic_path(path) as tmp:
        torch.save(net.state_dict(), tmp)
    return net.eval()


@torch.no_grad()
def generate(run: Path, max_clips: int = 64) -> tuple[Any, dict[str, torch.Tensor]]:
    """The run's datamodule and ``{cond, fake, target}`` for its first ``max_clips`` validation clips."""
    from videogen3d.platform.checkpoint import load_generator

    ckpt = run / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        found = sorted((run / "checkpoints").glob("*.ckpt"))
        if not found:
            raise FileNotFoundError(f"no checkpoint in {str(run / 'checkpoints')!r}")
        ckpt = found[-1]
    gen = load_generator(ckpt)
    datamodule = instantiate(gen.config.dataset, _recursive_=True)
    datamodule.setup("fit")
    out: dict[str, list[torch.Tensor]] = {"cond": [], "fake": [], "target": []}
    n = 0
    for batch in datamodule.val_dataloader():
        batch = datamodule.on_after_batch_transfer(batch, 0)
        out["cond"].append(batch["cond"])
        out["target"].append(batch["target"])
        out["fake"].append(gen(batch["cond"]).float().clamp(-1, 1))
        n += len(batch["cond"])
        if n >= max_clips:
            break
    return (datamodule, gen.config), {k: torch.cat(v)[:max_clips] for k, v in out.items()}


def quality_columns(run: Path, cache_dir: Path, max_clips: int = 64,
                    encoder_steps: int = 400) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """``({sharpness_ratio, laplacian_ratio, frechet}, clips)`` for one run."""
    (datamodule, config), clips = generate(run, max_clips)
    cols = sharpness(clips["fake"], clips["target"])
    encoder = domain_encoder(datamodule, config.dataset, cache_dir, steps=encoder_steps)
    real = encoder.features(clips["target"])
    if float(real.std(0).max()) < 1e-4:  # a collapsed feature network measures nothing: say so, never 0
        raise ValueError("the domain feature network's features do not vary over the real clips "
                         f"(std < 1e-4): delete {cache_dir}/domain_encoder_*.pt or change --encoder-steps")
    fd = FeatureFrechetDistance(num_features=real.shape[1])
    fd.update(real, real=True)
    fd.update(encoder.features(clips["fake"]), real=False)
    cols["frechet"] = float(fd.compute())
    return cols, clips
