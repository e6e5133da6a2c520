"""Discriminators (seed 000 §4): every conf/disc YAML builds and scores a small generator's output;
trial layer counts; temporal compression on 9-frame clips; refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict

from videogen3d.models.blocks import count_conv_layers
from videogen3d.models.discriminators import ConvDiscriminator, ResNetDiscriminator
from videogen3d.models.translators import ResNetTranslator

CONF = Path(__file__).resolve().parents[2] / "conf"
DISC_NAMES = sorted(p.stem for p in (CONF / "disc").glob("*.yaml") if p.stem != "none")


def compose_disc(name: str, clip_len: int, frame_size: int, **overrides):
    """The disc group as the train config composes it (``conv5`` extends ``conv``), on a small geometry."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"disc={name}", f"dataset.clip_len={clip_len}",
                                          f"dataset.frame_size={frame_size}"])
    with open_dict(cfg):
        cfg.disc.update(overrides)
    return cfg, instantiate(cfg.disc)


def test_disc_folder_is_populated():
    assert {"conv", "conv5", "conv6", "resnet11"} <= set(DISC_NAMES)
    assert (CONF / "disc" / "none.yaml").exists()


@pytest.mark.parametrize("name", DISC_NAMES)
def test_every_disc_yaml_scores_a_small_generator(name: str):
    torch.manual_seed(0)
    clip_len, side = 9, 32
    cfg, disc = compose_disc(name, clip_len, side, ndf=4)
    assert (CONF / "disc" / f"{name}.yaml").read_text().startswith("# seed 000")
    gen = ResNetTranslator(clip_len=clip_len, frame_size=side, ngf=4, down=["conv"], n_blocks=1)
    cond = torch.rand(2, 3, clip_len, side, side) * 2 - 1
    fake = gen(cond)
    feats = disc.features(fake, cond)
    logits = disc(fake, cond)
    assert torch.equal(feats[-1], logits)
    t_out = 3 if cfg.disc.temporal_compress else clip_len  # ceil(ceil(9/2)/2)
    s_out = side // disc.s_factor
    assert logits.shape == (2, 1, t_out, s_out, s_out)
    assert all(torch.isfinite(f).all() for f in feats)
    logits.mean().backward()  # gradients reach the generator through the discriminator
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gen.parameters())


@pytest.mark.parametrize(("name", "layers"), [("conv", 4), ("conv5", 5), ("conv6", 6), ("resnet11", 11)])
def test_trial_layer_counts(name: str, layers: int):
    """B-1: 4 conv layers, B-2: 5, B-9: 6, B-5: ResNet-11; the condition-entry conv is counted apart."""
    cfg, disc = compose_disc(name, 9, 64, ndf=4)
    assert disc.conv_layers == layers
    assert count_conv_layers(disc) == layers + (cfg.disc.cond_entry == "conv")


def test_condition_entry_direct_concatenates_channels():
    d = ConvDiscriminator(clip_len=4, frame_size=16, n_layers=4, ndf=4, cond_entry="direct")
    assert isinstance(d.cond_entry, torch.nn.Identity)
    assert d.trunk[0][0].in_channels == 6  # condition (3) ++ video (3)
    c = ConvDiscriminator(clip_len=4, frame_size=16, n_layers=4, ndf=4, cond_entry="conv")
    assert count_conv_layers(c.cond_entry) == 1


def test_condition_changes_the_score():
    torch.manual_seed(0)
    d = ConvDiscriminator(clip_len=4, frame_size=16, n_layers=4, ndf=4, norm="none")
    x = torch.rand(1, 3, 4, 16, 16)
    assert not torch.allclose(d(x, torch.zeros_like(x)), d(x, torch.ones_like(x)))


@pytest.mark.parametrize("cls", [ConvDiscriminator, ResNetDiscriminator])
def test_global_output_spectral_norm_and_batch_norm(cls):
    d = cls(clip_len=5, frame_size=16, ndf=4, output="global", spectral_norm=True, norm="batch")
    x = torch.rand(3, 3, 5, 16, 16)
    out = d(x, x)
    assert out.shape == (3, 1) and torch.isfinite(out).all()
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    assert any(isinstance(m, torch.nn.BatchNorm3d) for m in d.modules())


def test_no_temporal_compress_keeps_time():
    d = ResNetDiscriminator(clip_len=9, frame_size=16, ndf=4, temporal_compress=False)
    x = torch.rand(1, 3, 9, 16, 16)
    assert d(x, x).shape == (1, 1, 9, 1, 1)


def test_bad_geometry_and_options_are_refused():
    with pytest.raises(ValueError, match=r"ConvDiscriminator.*height=24.*factor 16"):
        ConvDiscriminator(clip_len=9, frame_size=24, n_layers=6)
    with pytest.raises(ValueError, match=r"cond_entry='concat' is not one of \('direct', 'conv'\)"):
        ConvDiscriminator(clip_len=9, frame_size=16, cond_entry="concat")
    with pytest.raises(ValueError, match=r"output='pixel'"):
        ResNetDiscriminator(clip_len=9, frame_size=16, output="pixel")
    with pytest.raises(ValueError, match=r"conv_layers=12 .* 11 counted"):
        ResNetDiscriminator(clip_len=9, frame_size=16, conv_layers=12)
    with pytest.raises(ValueError, match="n_layers=2"):
        ConvDiscriminator(clip_len=9, frame_size=16, n_layers=2)
    d = ConvDiscriminator(clip_len=4, frame_size=16, ndf=4)
    with pytest.raises(ValueError, match=r"expects a video \(B, 3, T, H, W\) and its condition"):
        d(torch.rand(1, 3, 4, 16, 16), torch.rand(1, 3, 5, 16, 16))
