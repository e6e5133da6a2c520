"""Conditional GAN task (seed 000 §4): fast_dev_run with every disc, the adversarial signal,
resume parity, bad input. Uses a tiny in-memory paired datamodule defined here."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, Dataset

from videogen3d.losses import GANLoss
from videogen3d.models.discriminators import ConvDiscriminator
from videogen3d.models.translators import ResNetTranslator
from videogen3d.tasks.gan import ConditionalGANModule, NonFiniteLossError
from videogen3d.utils.task_config import build_task

CONF = Path(__file__).resolve().parents[2] / "conf"
DISC_NAMES = sorted(p.stem for p in (CONF / "disc").glob("*.yaml") if p.stem != "none")
T, S = 5, 16  # tiny clips; every disc YAML accepts 16x16 frames


# ------------------------------------------------------------------------------------ data
class PairedClips(Dataset):
    """cond: random video in [-1, 1]; target: a fixed function of it. Clip i depends on i only."""

    def __init__(self, n: int, seed: int, with_cond: bool = True) -> None:
        g = torch.Generator().manual_seed(seed)
        self.cond = torch.rand(n, 3, T, S, S, generator=g) * 2 - 1
        self.target = 0.8 * self.cond.flip(1)
        self.with_cond = with_cond

    def __len__(self) -> int:
        return len(self.cond)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if self.with_cond:
            return {"cond": self.cond[i], "target": self.target[i]}
        return {"target": self.target[i], "label": torch.tensor(i % 2)}


class ResumableLoader(DataLoader):
    """Lightning fast-forwards a loader with ``state_dict``/``load_state_dict`` on a mid-epoch resume."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.served, self.skip = 0, 0

    def __iter__(self):
        skip, self.skip, self.served = self.skip, 0, 0
        for i, batch in enumerate(super().__iter__()):
            if i >= skip:
                self.served = i + 1
                yield batch

    def state_dict(self) -> dict[str, int]:
        return {"served": self.served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.skip = state["served"] % len(self)  # a checkpoint at an epoch's end starts the next afresh


class TinyPairs(pl.LightningDataModule):
    def __init__(self, n: int = 8, batch_size: int = 2, with_cond: bool = True) -> None:
        super().__init__()
        self.has_condition, self.batch_size = with_cond, batch_size
        self.train_set, self.val_set = PairedClips(n, 0, with_cond), PairedClips(2, 1, with_cond)

    def train_dataloader(self) -> DataLoader:
        return ResumableLoader(self.train_set, batch_size=self.batch_size, shuffle=False)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size)


# ---------------------------------------------------------------------------------- helpers
@pytest.fixture
def gan_cfg(train_cfg):
    """The real train config (conftest's ``train_cfg``), shrunk further: tiny clips, G and D."""

    def make(*overrides: str) -> DictConfig:
        cfg = train_cfg("generator=resnet_v1", f"dataset.clip_len={T}", f"dataset.frame_size={S}", *overrides)
        with open_dict(cfg):
            cfg.generator.update(n_blocks=1, down=["conv"], conv_layers=None)
            if cfg.disc.get("_target_"):
                cfg.disc.ndf = 4
        return cfg

    return make


def tiny_trainer(tmp_path: Path, **kw) -> pl.Trainer:
    kw = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
          "enable_model_summary": False, "limit_val_batches": 1, "deterministic": True,
          "default_root_dir": str(tmp_path), "accelerator": "cpu", "devices": 1, **kw}
    return pl.Trainer(**kw)


def tiny_gan(**kw) -> ConditionalGANModule:
    pl.seed_everything(0)
    adam = functools.partial(torch.optim.Adam, betas=(0.5, 0.999))
    kw = {"reconstruction": nn.L1Loss(), "lambda_rec": 10.0, "feature_matching": 1.0, "frame_size": S,
          "optimizer": functools.partial(adam, lr=1e-3), "disc_optimizer": functools.partial(adam, lr=2e-3), **kw}
    gen = kw.pop("generator", None) or ResNetTranslator(clip_len=T, frame_size=S, ngf=4, down=["conv"], n_blocks=1)
    disc = ConvDiscriminator(clip_len=T, frame_size=S, n_layers=4, ndf=4)
    return ConditionalGANModule(gen, disc, kw.pop("adversarial", GANLoss()), **kw)


# ------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("disc", DISC_NAMES)
def test_fast_dev_run_with_each_disc(disc: str, gan_cfg, tmp_path: Path):
    cfg = gan_cfg(f"disc={disc}", "loss=mixed", "loss.feature_matching=1.0")
    module = build_task(cfg, TinyPairs())
    assert isinstance(module, ConditionalGANModule) and module.automatic_optimization is False
    trainer = tiny_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(module, datamodule=TinyPairs())
    logged = trainer.callback_metrics
    for key in ("d_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "g_adv", "g_rec", "g_fm", "g_loss",
                "grad_norm_g", "grad_norm_d"):
        assert torch.isfinite(logged[f"train/{key}"]), key
    assert 0 <= logged["train/d_real"] <= 1 and 0 <= logged["train/d_fake"] <= 1  # sigmoid probabilities
    assert trainer.global_step == 2  # one D and one G optimizer step per batch
    assert "val/psnr" in logged and module.samples is not None  # the translator's metrics and media


def test_disc_learns_real_from_fake_against_a_fixed_generator(tmp_path: Path):
    """g_steps=0: only D trains; it must separate real from G's (fixed) output: the signal is wired."""
    module = tiny_gan(g_steps=0, reconstruction=None, lambda_rec=0.0, feature_matching=0.0)
    g_before = {k: v.clone() for k, v in module.generator.state_dict().items()}
    data = TinyPairs()
    tiny_trainer(tmp_path, max_steps=40, limit_val_batches=0).fit(module, datamodule=data)
    assert all(torch.equal(v, module.generator.state_dict()[k]) for k, v in g_before.items())
    module.eval()
    held_out = PairedClips(4, seed=7)
    with torch.no_grad():
        cond, real = held_out.cond, held_out.target
        adv = module.adversarial
        acc_real = adv.accuracy(module.disc(real, cond), True).item()
        acc_fake = adv.accuracy(module.disc(module(cond), cond), False).item()
    assert acc_real > 0.9 and acc_fake > 0.9, (acc_real, acc_fake)


@pytest.mark.parametrize("stop", [6, 8], ids=["mid_epoch", "epoch_end"])
def test_resume_from_last_ckpt_matches_an_uninterrupted_run(stop: int, tmp_path: Path):
    """4 batches an epoch, 2 optimizer steps a batch: global_step counts both optimizers."""
    total = 16
    straight = tiny_gan()
    t_straight = tiny_trainer(tmp_path / "a", max_steps=total)
    t_straight.fit(straight, datamodule=TinyPairs())

    ckpt = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True, every_n_train_steps=2, save_top_k=0)
    tiny_trainer(tmp_path / "b", max_steps=stop, callbacks=[ckpt], enable_checkpointing=True).fit(
        tiny_gan(), datamodule=TinyPairs())
    assert torch.load(tmp_path / "ck" / "last.ckpt", weights_only=False)["global_step"] == stop

    resumed = tiny_gan()
    t_resumed = tiny_trainer(tmp_path / "c", max_steps=total)
    t_resumed.fit(resumed, datamodule=TinyPairs(), ckpt_path=tmp_path / "ck" / "last.ckpt", weights_only=False)

    assert t_resumed.global_step == t_straight.global_step == total
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-6, msg=k)
    for opt_a, opt_b in zip(t_straight.optimizers, t_resumed.optimizers, strict=True):
        sa, sb = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
        assert sa.keys() == sb.keys()
        for pid in sa:
            for name in sa[pid]:
                torch.testing.assert_close(sb[pid][name], sa[pid][name], rtol=0, atol=1e-6)


class Poison(Callback):
    """From batch ``at`` on, make ``module.<attr>`` return NaN."""

    def __init__(self, attr: str, at: int) -> None:
        self.attr, self.at = attr, at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.at:
            part = getattr(pl_module, self.attr)
            part.register_forward_hook(lambda m, args, out: out * float("nan"))


@pytest.mark.parametrize(("attr", "term", "step"), [("generator", "d_loss", 6), ("reconstruction", "g_rec", 7)])
def test_nan_loss_stops_naming_the_term_and_keeps_last_good_checkpoint(attr: str, term: str, step: int,
                                                                        tmp_path: Path):
    """Batch 3 poisoned: the checkpoint of global step 6 (after batch 2) stays the last, and finite."""
    module = tiny_gan()
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True, every_n_train_steps=2, save_top_k=0)
    trainer = tiny_trainer(tmp_path, max_steps=20, callbacks=[ckpt, Poison(attr, at=3)], enable_checkpointing=True)
    message = rf"the GAN's {term} is nan at global step {step} \(epoch 0, batch 3\)"
    with pytest.raises(NonFiniteLossError, match=message):
        trainer.fit(module, datamodule=TinyPairs())
    last = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 6
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())
    assert all(torch.isfinite(p).all() for p in module.parameters())  # nothing was stepped with NaN


def test_disc_with_a_dataset_without_condition_is_refused(train_cfg):
    cfg = train_cfg("disc=conv", "loss=cgan", "dataset=moving_objects", "generator.ngf=4", tiny=False)
    with pytest.raises(ValueError, match=r"disc=conv needs a condition video, but dataset=moving_objects"):
        build_task(cfg, TinyPairs(with_cond=False))


def test_a_disc_alone_makes_a_gan_with_the_mixed_loss(gan_cfg):
    """The user's own line: generator=resnet_v4 disc=resnet11 (no loss named) trains the seed's mixed loss."""
    cfg = gan_cfg("disc=resnet11")
    assert cfg.hydra.runtime.choices.loss == "mixed" and cfg.hydra.runtime.choices.task == "gan"
    module = build_task(cfg, TinyPairs())
    assert isinstance(module, ConditionalGANModule)
    assert module.hparams.lambda_rec == 100.0 and isinstance(module.reconstruction, nn.L1Loss)
    assert build_task(gan_cfg("disc=resnet11", "loss=cgan"), TinyPairs()).hparams.lambda_rec == 0.0


@pytest.mark.parametrize(("overrides", "message"), [
    (("disc=resnet11", "loss=mse"), r"disc=resnet11 trains a discriminator, but loss=mse has no adversarial term"
                                    r".*loss=mixed.*disc=none"),
    (("disc=conv", "loss=l1"), r"disc=conv trains a discriminator, but loss=l1"),
    (("disc=none", "loss=cgan"), r"loss=cgan has an adversarial term but disc=none has no discriminator.*disc=conv"),
    (("disc=none", "task=gan"), r"task=gan needs a discriminator, but disc=none"),
    (("disc=conv", "task=translator"), r"disc=conv needs task=gan, but task=translator"),
])
def test_contradicting_groups_are_refused_naming_both(gan_cfg, overrides, message):
    with pytest.raises(ValueError, match=message):
        build_task(gan_cfg(*overrides), TinyPairs())


def test_noise_input_widens_the_generator(gan_cfg, tmp_path: Path):
    cfg = gan_cfg("disc=conv", "loss=cgan", "task.noise_channels=2", "generator.in_channels=5", "task.d_steps=2")
    module = build_task(cfg, TinyPairs())
    assert module.generator.in_channels == 5 and module.hparams.d_steps == 2
    tiny_trainer(tmp_path, fast_dev_run=True).fit(module, datamodule=TinyPairs())
    cond = torch.zeros(1, 3, T, S, S)
    assert module(cond).shape == cond.shape
    assert not torch.equal(module(cond), module(cond))  # z is drawn anew
    with pytest.raises(InstantiationException, match=r"task.noise_channels=2: .* set generator.in_channels=5"):
        build_task(gan_cfg("disc=conv", "loss=cgan", "task.noise_channels=2"), TinyPairs())


def test_schedulers_step_both_optimizers_each_epoch(gan_cfg, tmp_path: Path):
    cfg = gan_cfg("disc=conv", "loss=cgan", "optim=adam_cosine", "trainer.max_epochs=4")
    module = build_task(cfg, TinyPairs())
    trainer = tiny_trainer(tmp_path, max_epochs=2, limit_train_batches=1, limit_val_batches=0)
    trainer.fit(module, datamodule=TinyPairs())
    factor = (1 + math.cos(math.pi * 2 / 4)) / 2  # cosine decay after 2 of T_max=4 epochs
    expected = [cfg.optim.generator.lr * factor, cfg.optim.disc.lr * factor]
    assert [o.param_groups[0]["lr"] for o in trainer.optimizers] == pytest.approx(expected)


def test_bf16_mixed_runs_with_float32_losses(tmp_path: Path, reference_conv_kernels):
    module = tiny_gan()
    trainer = tiny_trainer(tmp_path, max_steps=2, precision="bf16-mixed", limit_val_batches=0)
    trainer.fit(module, datamodule=TinyPairs())
    logged = trainer.callback_metrics
    assert torch.isfinite(logged["train/g_loss"])
    # a tiny D's first gradient is of order 1; oneDNN's wrong bf16 weight gradients gave 1e26-1e35 here
    assert 0 < logged["train/grad_norm_d"] < 100 and 0 < logged["train/grad_norm_g"] < 100
    assert all(p.dtype == torch.float32 for p in module.parameters())


# trial -> (generator conv layers, disc conf, disc trunk layers, cond entry, loss), seed 000 §4 tables
B_TRIALS = {
    "B-1": (34, "conv", 4, "conv", "cgan"), "B-2": (34, "conv5", 5, "direct", "cgan"),
    "B-3": (50, "conv", 4, "conv", "cgan"), "B-4": (40, "conv", 4, "conv", "cgan"),
    "B-5": (71, "resnet11", 11, "conv", "cgan"), "B-6": (22, "conv5", 5, "direct", "cgan"),
    "B-7": (22, "conv5", 5, "direct", "cgan"), "B-8": (34, "conv5", 5, "direct", "cgan"),
    "B-9": (40, "conv6", 6, "conv", "cgan"), "B-10": (71, "conv6", 6, "conv", "cgan"),
    "B-11": (89, "resnet11", 11, "conv", "cgan"), "B-12": (45, "conv6", 6, "conv", "cgan"),
    "B-13": (54, "resnet11", 11, "conv", "mixed"), "B-14": (60, "conv6", 6, "conv", "mixed"),
    "B-15": (68, "conv6", 6, "conv", "mixed"),
}


def test_every_b_trial_has_an_experiment():
    assert {p.stem for p in (CONF / "experiment").glob("B-*.yaml")} == set(B_TRIALS)


@pytest.mark.parametrize("trial", sorted(B_TRIALS, key=lambda t: int(t[2:])))
def test_b_experiment_builds_the_seed_row_at_seed_scale(trial: str, train_cfg):
    """Compose experiment=B-k; build G and D at the seed's scale (no forward: too slow for CI)."""
    g_layers, disc_name, d_layers, entry, loss = B_TRIALS[trial]
    text = (CONF / "experiment" / f"{trial}.yaml").read_text()
    assert text.startswith("# @package _global_") and f"trial {trial}" in text
    assert f"override /disc: {disc_name}" in text and f"override /loss: {loss}" in text
    cfg = train_cfg(f"experiment={trial}", tiny=False)
    assert cfg.dataset.clip_len == 9 and cfg.dataset.frame_size == (128 if trial == "B-11" else 64)
    with torch.device("meta"):  # full-size networks: count layers without allocating weights
        gen, disc = instantiate(cfg.generator), instantiate(cfg.disc)
    assert gen.conv_layers == g_layers
    assert disc.conv_layers == d_layers and cfg.disc.cond_entry == entry and cfg.disc.temporal_compress
    assert cfg.loss.adversarial.mode == "vanilla"  # the seed's binary cross entropy
    if trial == "B-3":
        assert cfg.disc.norm == cfg.generator.norm == "batch"


@pytest.mark.slow
def test_ddp_simulation_on_two_cpu_processes(tmp_path: Path):
    """Two CPU processes: D and G each update in their own backward, so DDP must find unused parameters."""
    module = tiny_gan()
    assert module.ddp_find_unused_parameters
    trainer = tiny_trainer(tmp_path, devices=2, strategy="ddp_spawn_find_unused_parameters_true", max_steps=4,
                           limit_val_batches=0)
    trainer.fit(module, datamodule=TinyPairs())
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_grad_norm_of_large_finite_gradients_is_finite():
    # in float32 the squares of 3.7e26 overflow, so a finite gradient would be reported as an infinite norm and
    # stop the run as non-finite (such a gradient was first seen from oneDNN's wrong bf16 Conv3d weight
    # gradients, which videogen3d.utils.precision now refuses; the norm must be right whatever its source)
    from videogen3d.tasks.gan import grad_norm
    p, q = nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2))
    p.grad, q.grad = torch.tensor([3.0e26, 4.0e26, 0.0]), torch.tensor([0.0, 12.0e26])
    norm = grad_norm([p, q])
    assert torch.isfinite(norm) and norm.item() == pytest.approx(13.0e26, rel=1e-6)
    p.grad[0] = float("inf")
    assert not torch.isfinite(grad_norm([p, q]))  # an infinite gradient is still caught
    assert grad_norm([nn.Parameter(torch.zeros(1))]).item() == 0.0  # no gradient at all
