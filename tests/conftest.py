"""Shared fixtures: tiny H.264 videos written with PyAV (independently of videogen3d's writer)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest


def smooth_frames(n: int = 12, size: tuple[int, int] = (32, 32), seed: int = 0) -> np.ndarray:
    """``uint8 (n, H, W, 3)``: a colour gradient with a bright square moving right (codec-friendly)."""
    h, w = size
    rng = np.random.default_rng(seed)
    base = rng.uniform(40, 200, size=3)
    y, x = np.mgrid[0:h, 0:w]
    frames = np.empty((n, h, w, 3), np.float64)
    for c in range(3):
        frames[..., c] = base[c] + 30 * np.sin(x / w * np.pi + c)[None]
    for t in range(n):
        x0 = (t * 2) % max(w - 8, 1)
        frames[t, h // 4 : h // 4 + 8, x0 : x0 + 8] = 240
    return frames.round().astype(np.uint8)


def encode_mp4(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "10"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.fixture
def make_video(tmp_path):
    """``make_video("sub/name.mp4", n=12, size=(32, 32), seed=0)`` -> (path, frames written)."""

    def make(rel: str, n: int = 12, size: tuple[int, int] = (32, 32), seed: int = 0, fps: int = 10):
        frames = smooth_frames(n, size, seed)
        return encode_mp4(tmp_path / rel, frames, fps), frames

    return make


# ---------------------------------------------------------------------------------- configs
from hydra.core.global_hydra import GlobalHydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from videogen3d.utils.compose import REPO, TINY, compose_train  # noqa: E402,F401


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory) -> Path:
    """One data cache for the session: tiny synthetic sets are rendered once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def train_cfg(tmp_path, shared_data_dir):
    """``train_cfg("generator=unet", ..., tiny=True)`` -> a composed config writing under tmp_path."""

    def make(*overrides: str, tiny: bool = True, name: str = "run") -> DictConfig:
        return compose_train(list(overrides), tmp_path / name, shared_data_dir, tiny)

    yield make
    GlobalHydra.instance().clear()


# ------------------------------------------------------------------------------- precision
@pytest.fixture
def reference_conv_kernels(monkeypatch):
    """bf16 on the CPU through PyTorch's reference kernels: on CPUs with native bf16, oneDNN's bf16 Conv3d
    weight gradients are wrong for clips of fewer frames than the kernel (``videogen3d.utils.precision``),
    which the tiny models' deepest layers reach. Right on every CPU, and fast enough at tiny sizes."""
    import torch

    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
