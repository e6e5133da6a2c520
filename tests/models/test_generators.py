"""Generators (seed 000 §3): every conf/generator YAML builds and runs; trial layer counts; refusals."""

from __future__ import annotations

from pathlib import Path

import hydra.utils
import pytest
import torch
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import OmegaConf, open_dict

from videogen3d.models.blocks import count_conv_layers
from videogen3d.models.translators import ResNetTranslator, ResUNet3d, StagedResNetTranslator, UNet3d

GENERATOR_DIR = Path(__file__).resolve().parents[2] / "conf" / "generator"
GENERATOR_YAMLS = sorted(GENERATOR_DIR.glob("*.yaml"))


def compose(path: Path, clip_len: int, frame_size, **overrides):
    """The generator group as Hydra composes it (its base files included), on a given clip geometry."""
    with initialize_config_dir(str(GENERATOR_DIR.parent), version_base="1.3"):
        cfg = hydra_compose("train", overrides=[f"generator={path.stem}", f"dataset.clip_len={clip_len}",
                                                f"dataset.frame_size={frame_size}"])
    with open_dict(cfg):
        cfg.generator.update(overrides)
    return cfg, hydra.utils.instantiate(cfg.generator)


def smallest_geometry(path: Path) -> tuple[int, int]:
    """Smallest (T, side) the variant accepts, from its down factors on a probe build."""
    _, probe = compose(path, 64, 128, ngf=4, conv_layers=None)
    tf, sf = probe.down_factors
    return max(4, tf), max(32, sf)


def test_generator_folder_is_populated():
    names = {p.stem for p in GENERATOR_YAMLS}
    assert {"bottleneck", "unet", "unet4", "resnet_v1", "resnet_v2", "resnet_v3", "resnet_v4",
            "resnet_v4_34", "resnet_v5_a", "resnet_v5_b", "resnet_v5_c"} <= names


@pytest.mark.parametrize("path", GENERATOR_YAMLS, ids=lambda p: p.stem)
def test_every_generator_yaml_runs(path: Path):
    text = path.read_text()
    assert text.startswith("# seed "), f"{path.name} must open with a comment naming its seed trial"
    if "_v5" in path.stem:
        assert "OURS" in text, f"{path.name}: V5 is withheld by the seed, the YAML must say the design is ours"
    clip_len, side = smallest_geometry(path)
    torch.manual_seed(0)
    cfg, gen = compose(path, clip_len, side, ngf=8)
    assert cfg.generator.conv_layers == count_conv_layers(gen) == gen.conv_layers
    x = torch.rand(2, 3, clip_len, side, side) * 2 - 1
    with torch.no_grad():
        y = gen(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert y.abs().max() <= 1


@pytest.mark.parametrize("path", GENERATOR_YAMLS, ids=lambda p: p.stem)
def test_yaml_defaults_take_dataset_default_geometry(path: Path):
    """The defaults must build for the dataset default: 9-frame clips of 64x64 (no forward: slow)."""
    _, gen = compose(path, 9, 64)
    assert gen.frame_size == (64, 64) and gen.clip_len == 9


def test_frame_size_as_list_and_rectangular_frames():
    gen = UNet3d(clip_len=4, frame_size=OmegaConf.create([32, 48]), ngf=4, depth=3)
    assert gen.frame_size == (32, 48)
    assert gen(torch.zeros(1, 3, 4, 32, 48)).shape == (1, 3, 4, 32, 48)


def test_backward_gives_finite_grads():
    torch.manual_seed(0)
    gen = ResUNet3d(clip_len=4, frame_size=16, ngf=4, enc_blocks=[1, 1, 1], mid_blocks=1, se=True)
    x = torch.rand(2, 3, 4, 16, 16) * 2 - 1
    loss = (gen(x) - x).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in gen.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


V5 = dict(se=True)
TRIALS = {  # trial -> (class, kwargs, frame side, counted layers the seed reports or implies)
    "A-1": (ResNetTranslator, dict(down=["conv"] * 4, n_blocks=6), 64, 22),
    "A-2": (ResNetTranslator, dict(down=["conv"] * 4, n_blocks=9), 64, 28),
    "A-3": (ResNetTranslator, dict(down=["conv"] * 3, n_blocks=6), 64, 20),
    "A-4": (ResNetTranslator, dict(down=["conv"] * 4, n_blocks=3), 64, 16),
    "A-5": (UNet3d, dict(depth=4), 64, 17),
    "A-6": (UNet3d, dict(depth=5), 64, 22),
    "A-7": (ResNetTranslator, dict(down=["conv"], n_blocks=14), 64, 32),
    "A-8": (ResNetTranslator, dict(down=["conv"], n_blocks=18), 64, 40),
    "A-9": (ResNetTranslator, dict(down=["conv"] * 2, n_blocks=14), 64, 34),
    "A-10": (ResNetTranslator, dict(down=["conv"] * 2, n_blocks=14), 128, 34),
    "A-11": (ResNetTranslator, dict(down=["conv", "pool"], n_blocks=14), 64, 33),
    "A-12": (ResNetTranslator, dict(down=["pool", "conv"], n_blocks=14), 64, 33),
    "A-13": (ResNetTranslator, dict(down=["pool", "conv", "conv"], n_blocks=14), 128, 35),
    "A-14": (ResNetTranslator, dict(down=["pool", "flat"] * 3, n_blocks=14, max_channels=64), 128, 36),
    "A-15": (StagedResNetTranslator, dict(), 64, 37),
    "A-16": (StagedResNetTranslator, dict(norm="batch"), 64, 37),
    "A-17": (StagedResNetTranslator, dict(temporal_down=2), 64, 37),
    "A-18": (StagedResNetTranslator, dict(stage_blocks=[2, 3, 4, 6, 2], stem_stride=1, maxpool=False), 64, 40),
    "A-19": (ResUNet3d, dict(enc_blocks=[1, 2, 3, 4, 2]), 64, 50),
    "A-20": (ResUNet3d, dict(enc_blocks=[1, 2, 2, 2, 1]), 64, 34),
    "V5-A-40": (ResUNet3d, dict(enc_blocks=[1, 2, 2, 2, 1], mid_blocks=2, **V5), 64, 40),
    "V5-B-71": (ResUNet3d, dict(enc_blocks=[2, 3, 4, 4, 2], mid_blocks=3, **V5), 64, 71),
    "V5-B-89": (ResUNet3d, dict(enc_blocks=[2, 2, 3, 4, 5, 2], mid_blocks=5, **V5), 128, 89),
    "V5-C1-45": (ResUNet3d, dict(enc_blocks=[1, 2, 3, 3, 1], mid_blocks=1, **V5), 64, 45),
    "V5-C2-54": (ResUNet3d, dict(enc_blocks=[1, 2, 3, 3, 1], mid_blocks=4, **V5), 64, 54),
    "V5-C3-60": (ResUNet3d, dict(enc_blocks=[1, 2, 3, 3, 1], mid_blocks=6, **V5), 64, 60),
    "V5-C4-68": (ResUNet3d, dict(enc_blocks=[1, 2, 3, 4, 2], mid_blocks=6, **V5), 64, 68),
}


@pytest.mark.parametrize("trial", TRIALS)
def test_trial_layer_counts(trial: str):
    cls, kw, side, count = TRIALS[trial]
    clip_len = 8 if kw.get("temporal_down") else 9
    gen = cls(clip_len=clip_len, frame_size=side, ngf=4, conv_layers=count, **kw)
    assert gen.conv_layers == count == count_conv_layers(gen)


def test_seed_middle_widths_with_ngf16():
    """Middle filters the seed's tables report for ngf=16 on 64x64 frames (A-1, A-3, A-7, A-9, A-11)."""
    for trial, width in (("A-1", 256), ("A-3", 128), ("A-7", 32), ("A-9", 64), ("A-11", 32)):
        cls, kw, side, _ = TRIALS[trial]
        assert cls(clip_len=9, frame_size=side, **kw).middle_channels == width, trial


@pytest.mark.parametrize("cls,kw", [
    (ResNetTranslator, dict(down=["conv", "pool", "conv"], n_blocks=1)),
    (UNet3d, dict(depth=3)),
    (StagedResNetTranslator, dict(stage_blocks=[1, 1, 1], stem_stride=1, maxpool=False)),
    (ResUNet3d, dict(enc_blocks=[1, 1, 1], mid_blocks=1)),
], ids=["resnet", "unet", "staged", "resunet"])
def test_temporal_down_compresses_middle_and_restores_length(cls, kw):
    gen = cls(clip_len=8, frame_size=16, ngf=4, temporal_down=2, **kw)
    assert gen.down_factors[0] == 4
    seen = []
    convs = [m for m in gen.modules() if isinstance(m, torch.nn.Conv3d)]
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(o.shape[2])) for m in convs]
    y = gen(torch.zeros(1, 3, 8, 16, 16))
    for h in hooks:
        h.remove()
    assert y.shape == (1, 3, 8, 16, 16)
    assert min(seen) == 2  # T / 4 in the middle (seed 000 A-17)


def test_refuses_clip_len_temporal_down_cannot_handle():
    with pytest.raises(ValueError, match="clip_len=9") as err:
        StagedResNetTranslator(clip_len=9, frame_size=64, temporal_down=2)  # A-17 needs T % 4 == 0
    assert "StagedResNetTranslator" in str(err.value) and "4" in str(err.value)


def test_refuses_frame_size_down_sampling_cannot_handle():
    with pytest.raises(ValueError, match="factor 16") as err:
        ResNetTranslator(clip_len=9, frame_size=40, ngf=4)  # A-1 down-samples by 16
    assert "40" in str(err.value)
    with pytest.raises(ValueError, match="factor 32") as err:  # 48 = 3 * 16 is fine for A-1, not for A-15
        StagedResNetTranslator(clip_len=9, frame_size=48, ngf=4)
    assert "height=48" in str(err.value)


def test_refuses_temporal_down_beyond_down_steps():
    with pytest.raises(ValueError, match="temporal_down=3"):
        UNet3d(clip_len=8, frame_size=16, ngf=4, depth=3, temporal_down=3)


def test_refuses_conv_layers_mismatch():
    with pytest.raises(ValueError, match="ResUNet3d") as err:
        ResUNet3d(clip_len=4, frame_size=32, ngf=4, enc_blocks=[1, 2, 2, 2, 1], conv_layers=35)
    assert "35" in str(err.value) and "34" in str(err.value)


def test_refuses_bad_options():
    with pytest.raises(ValueError, match="down ops"):
        ResNetTranslator(clip_len=4, frame_size=32, down=["conv", "stride"])
    with pytest.raises(ValueError, match="dec_blocks"):
        ResUNet3d(clip_len=4, frame_size=32, enc_blocks=[1, 1, 1], dec_blocks=[1, 1])
    with pytest.raises(ValueError, match="se"):
        UNet3d(clip_len=4, frame_size=32, depth=3, se=True)


def test_forward_refuses_bad_input_shape():
    gen = UNet3d(clip_len=4, frame_size=32, ngf=4, depth=3, temporal_down=1)
    assert gen(torch.zeros(1, 3, 6, 16, 24)).shape == (1, 3, 6, 16, 24)  # other windows are fine
    for shape in [(1, 3, 5, 32, 32), (1, 3, 4, 30, 32), (1, 1, 4, 32, 32), (3, 4, 32, 32)]:
        with pytest.raises(ValueError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
            gen(torch.zeros(shape))


def test_block_type_is_a_config_choice():
    """The residual block is a _partial_ node: a setting on it reaches every block the network builds."""
    path = GENERATOR_DIR / "resnet_v4.yaml"
    cfg, gen = compose(path, 4, 32, ngf=4)
    assert cfg.generator.block._target_ == "videogen3d.models.blocks.ResBlock3d" and cfg.generator.block._partial_
    convs = [m for m in gen.modules() if isinstance(m, torch.nn.Conv3d) and m.kernel_size == (3, 3, 3)]
    assert {c.padding_mode for c in convs} == {"zeros"}
    _, gen = compose(path, 4, 32, ngf=4, block={"_target_": "videogen3d.models.blocks.ResBlock3d",
                                                "_partial_": True, "padding_mode": "replicate"})
    blocks = [m for m in gen.modules() if type(m).__name__ == "ResBlock3d"]
    assert len(blocks) >= 12  # (1+2+3+4+2) encoder blocks at least
    assert all(b.conv2[0].padding_mode == "replicate" for b in blocks)
