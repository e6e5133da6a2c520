"""Adversarial losses (seed 000 §4.2) and every conf/loss YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from videogen3d.losses import GAN_MODES, GANLoss, feature_matching_loss

CONF = Path(__file__).resolve().parents[1] / "conf"
LOSS_NAMES = sorted(p.stem for p in (CONF / "loss").glob("*.yaml"))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_yaml_composes_and_instantiates(name: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(overrides=[f"+loss={name}"]).loss
    assert set(cfg) == {"reconstruction", "adversarial", "lambda_rec", "feature_matching"}
    fake, real = torch.rand(2, 3, 4, 8, 8), torch.rand(2, 3, 4, 8, 8)
    if cfg.reconstruction is not None:
        assert torch.isfinite(instantiate(cfg.reconstruction)(fake, real))
    if cfg.adversarial is not None:
        adv = instantiate(cfg.adversarial)
        assert isinstance(adv, GANLoss) and adv.mode == "vanilla"  # the seed's BCE
        assert torch.isfinite(adv(torch.randn(2, 1, 3, 2, 2), True))


def test_cgan_and_mixed_follow_the_seed_and_pix2pix():
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cgan = compose(overrides=["+loss=cgan"]).loss
        mixed = compose(overrides=["+loss=mixed", "loss.adversarial.mode=hinge"]).loss
    assert cgan.reconstruction is None and cgan.lambda_rec == 0
    assert mixed.reconstruction._target_ == "torch.nn.L1Loss" and mixed.lambda_rec == 100
    assert instantiate(mixed.adversarial).mode == "hinge"


def test_vanilla_is_bce_on_logits_with_buffered_targets():
    loss = GANLoss("vanilla")
    assert {n for n, _ in loss.named_buffers()} == {"real_label", "fake_label"}
    z = torch.zeros(4, 1, 2, 2, 2)
    assert loss(z, True).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    assert loss(torch.full_like(z, 20.0), True).item() < 1e-6
    assert loss(torch.full_like(z, -20.0), False).item() < 1e-6
    assert loss.score(z).item() == pytest.approx(0.5)  # D's probability of "real"
    smoothed = GANLoss("vanilla", target_real=0.9)
    assert smoothed.target(z, True).max().item() == pytest.approx(0.9)


def test_lsgan_and_hinge():
    ls = GANLoss("lsgan")
    assert ls(torch.ones(3), True).item() == 0 and ls(torch.ones(3), False).item() == 1
    assert ls.threshold == 0.5
    hinge = GANLoss("hinge")
    x = torch.tensor([0.5, 2.0, -3.0])
    assert hinge(x, True).item() == pytest.approx((0.5 + 0 + 4) / 3)
    assert hinge(x, False).item() == pytest.approx((1.5 + 3 + 0) / 3)
    assert hinge(x, True, for_discriminator=False).item() == pytest.approx(-x.mean().item())


@pytest.mark.parametrize("mode", GAN_MODES)
def test_losses_are_float32_under_bf16(mode: str):
    logits = torch.randn(2, 1, 3, 4, 4).bfloat16()
    out = GANLoss(mode)(logits, False)
    assert out.dtype == torch.float32 and torch.isfinite(out)


def test_accuracy_counts_patches_on_the_right_side():
    loss = GANLoss("vanilla")
    logits = torch.tensor([2.0, -1.0, 3.0, 0.5])
    assert loss.accuracy(logits, True).item() == 0.75
    assert loss.accuracy(logits, False).item() == 0.25


def test_feature_matching_is_l1_to_detached_real_features():
    real = [torch.zeros(2, 4, 3, 3, 3, requires_grad=True), torch.zeros(2, 8, 2, 2, 2, requires_grad=True)]
    fake = [torch.ones(2, 4, 3, 3, 3, requires_grad=True), torch.full((2, 8, 2, 2, 2), 3.0, requires_grad=True)]
    fm = feature_matching_loss(real, fake)
    assert fm.item() == pytest.approx(2.0)
    fm.backward()
    assert real[0].grad is None and fake[0].grad is not None
    with pytest.raises(ValueError, match="same non-zero number"):
        feature_matching_loss(real, fake[:1])


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"mode='wgan' is not one of \('vanilla', 'lsgan', 'hinge'\)"):
        GANLoss("wgan")
