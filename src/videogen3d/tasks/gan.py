"""Conditional GAN for video translation (seed 000 §4, trials B-1..B-15).

The generator is the translator of seed 000 §3 (any ``conf/generator`` YAML); the
discriminator (``conf/disc``) sees the condition and a video concatenated channel-wise and
is trained with binary cross entropy, ones for real and zeros for fake (§4.2). Losses
(``conf/loss``): ``cgan`` is the adversarial term alone (the seed's "C-GAN Loss", B-9..B-12);
``mixed`` adds ``lambda_rec`` times a reconstruction term (the seed's "Mixed Loss",
B-13..B-15; pix2pix's L1 with lambda 100). Noise input z is off by default: the seed found it
of no use for this translation (§4.1).

One training batch, with manual optimisation (``d_steps`` D updates, then ``g_steps`` G updates)::

    fake = G(cond [++ z])
    D:  d_loss = (adv(D(real|cond), real) + adv(D(fake.detach()|cond), fake)) / 2
    G:  g_loss = adv(D(fake|cond), real) + lambda_rec * rec(fake, real) + fm * FM(D feats)

Every term is checked to be finite *before* any backward or optimizer step (and the gradient
norm before each step), so a NaN/inf stops the run with the term's name while the weights,
and so the last checkpoint, stay finite.

Logged: ``train/d_loss`` and ``train/g_loss`` every batch (the progress bar); the other terms, the
gradient norms and D's scores and accuracies on the batches whose step metrics Lightning writes
(``trainer.log_every_n_steps``) and on the last batch of an epoch or of the run: the same rows as
logging all of them every batch, without most of ``self.log``'s per-call cost (``on_train_batch_end``).

With manual optimisation Lightning's ``global_step`` counts the steps of *both* optimizers: a
batch is ``d_steps + g_steps`` steps (2 by default), and so are ``trainer.max_steps`` and
``ModelCheckpoint(every_n_train_steps=...)``. A run resumed from ``last.ckpt`` ends with the
same weights and optimizer states as an uninterrupted one (tests/tasks/test_gan.py); a
mid-epoch resume also needs a loader that Lightning can fast-forward (``state_dict``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from videogen3d.losses.gan import GANLoss, feature_matching_loss
from videogen3d.tasks.translator import OptimizerFactory, SchedulerFactory, VideoTranslationTask

PROGRESS_BAR = ("d_loss", "g_loss")  # logged every step; the other figures on logging steps only
LOGITS = "_logits"  # D's (real, fake) logits of the batch's last D step, for its scores and accuracies


class NonFiniteLossError(FloatingPointError):
    """A loss term or gradient norm became NaN/inf; raised before the update that would spread it."""


def grad_norm(params: Any) -> torch.Tensor:
    """L2 norm of all gradients of ``params`` (0 when none has one), in float64: in float32 the squares of finite
    gradients above ~1e19 overflow, and a finite gradient would be reported as an infinite norm."""
    norms = [p.grad.detach().double().norm() for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros((), dtype=torch.float64)


class ConditionalGANModule(VideoTranslationTask):
    """Generator + conditional discriminator, trained adversarially (seed 000 §4).

    ``optimizer`` / ``disc_optimizer`` are partial optimizers completed with G's / D's
    parameters (own learning rates); ``scheduler`` (partial or None) is applied to both and
    stepped every epoch. Inherits the translator's metrics and sample media.

    Under DDP each backward reaches only one network, so DDP must look for unused parameters
    (``trainer.strategy=ddp_find_unused_parameters_true``); ``ddp_find_unused_parameters`` says so
    to a launcher that picks the strategy.
    """

    ddp_find_unused_parameters = True

    def __init__(
        self,
        generator: nn.Module,
        disc: nn.Module,
        adversarial: GANLoss,
        optimizer: OptimizerFactory,
        disc_optimizer: OptimizerFactory,
        reconstruction: nn.Module | None = None,
        lambda_rec: float = 0.0,
        feature_matching: float = 0.0,
        d_steps: int = 1,
        g_steps: int = 1,
        noise_channels: int = 0,
        gradient_clip_val: float | None = None,
        scheduler: SchedulerFactory | None = None,
        num_samples: int = 4,
        frame_size: int | list[int] | None = None,
    ) -> None:
        super().__init__(generator, optimizer, scheduler, num_samples, frame_size)
        if d_steps < 0 or g_steps < 0 or d_steps + g_steps == 0:
            raise ValueError(f"task.d_steps={d_steps} and task.g_steps={g_steps} must be >= 0 and not both 0")
        if adversarial is None:
            raise ValueError("the conditional GAN needs an adversarial loss (loss.adversarial is null): "
                             "use loss=mixed or loss=cgan")
        if lambda_rec > 0 and reconstruction is None:
            raise ValueError(f"lambda_rec={lambda_rec} needs a reconstruction loss (loss.reconstruction is null)")
        g_in, d_cond = getattr(generator, "in_channels", None), getattr(disc, "cond_channels", None)
        if g_in is not None and d_cond is not None and g_in != d_cond + noise_channels:
            raise ValueError(f"task.noise_channels={noise_channels}: the generator takes {g_in} input channels but "
                             f"the condition has {d_cond} and the noise {noise_channels}: set generator.in_channels="
                             f"{d_cond + noise_channels}")
        self.automatic_optimization = False
        self.disc, self.adversarial, self.reconstruction = disc, adversarial, reconstruction
        # kept as attributes, not read back from hparams, so that hparams may leave them out
        self.optimizer_factories = (optimizer, disc_optimizer)
        self.scheduler_factory = scheduler
        self._step_logs: tuple[dict[str, Any], int] | None = None  # training_step -> on_train_batch_end

    # ----------------------------------------------------------------------------- forward
    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        """The one place the noise input is made: z ~ N(0, 1) per voxel, concatenated to the condition
        (seed 000 §4.1); the platform's inference runs this method too."""
        nz = self.hparams.noise_channels
        if nz:
            z = torch.randn(cond.shape[0], nz, *cond.shape[2:], device=cond.device, dtype=cond.dtype)
            cond = torch.cat([cond, z], dim=1)
        return self.generator(cond)

    # ------------------------------------------------------------------------------ checks
    def _finite(self, **terms: torch.Tensor) -> None:
        for name, value in terms.items():
            if not torch.isfinite(value).all():
                raise NonFiniteLossError(
                    f"the GAN's {name} is {value.item()} at global step {self.global_step} (epoch "
                    f"{self.current_epoch}, batch {self.trainer.fit_loop.epoch_loop.batch_idx}); "
                    f"stopped before the update, so the weights and the last checkpoint (last.ckpt) stay finite. "
                    f"Try lower optim.generator.lr / optim.disc.lr, loss.adversarial.mode=lsgan or hinge, "
                    f"disc.spectral_norm=true, task.gradient_clip_val=1.0 or trainer.precision=32-true"
                )

    def _update(self, opt: Any, loss: torch.Tensor, params: Any, name: str) -> torch.Tensor:
        """zero_grad, backward, grad-norm check (logged before clipping), clip, step."""
        opt.zero_grad()
        self.manual_backward(loss)
        norm = grad_norm(params)
        if str(self.trainer.precision) != "16-mixed":  # fp16's GradScaler skips overflowing steps itself
            self._finite(**{f"gradient norm of {name}": norm})
        if self.hparams.gradient_clip_val:
            self.clip_gradients(opt, gradient_clip_val=self.hparams.gradient_clip_val, gradient_clip_algorithm="norm")
        opt.step()
        return norm

    # ---------------------------------------------------------------------------- training
    def _d_step(self, opt: Any, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor) -> dict[str, Any]:
        adv = self.adversarial
        with self.toggled_optimizer(opt):
            logits_real, logits_fake = self.disc(real, cond), self.disc(fake.detach(), cond)
            d_loss = 0.5 * (adv(logits_real, True) + adv(logits_fake, False))
            self._finite(d_loss=d_loss)
            norm = self._update(opt, d_loss, self.disc.parameters(), "d_loss")
        # D's scores and accuracies are only logged: made from the logits when a log is written (_log_step)
        return {"d_loss": d_loss, LOGITS: (logits_real.detach(), logits_fake.detach()), "grad_norm_d": norm}

    def _g_step(self, opt: Any, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor) -> dict[str, Any]:
        hp = self.hparams
        with self.toggled_optimizer(opt):
            feats_fake = self.disc.features(fake, cond)
            terms = {"g_adv": self.adversarial(feats_fake[-1], True, for_discriminator=False)}
            if self.reconstruction is not None and hp.lambda_rec > 0:
                terms["g_rec"] = self.reconstruction(fake.float(), real.float())
            if hp.feature_matching > 0:
                with torch.no_grad():
                    feats_real = self.disc.features(real, cond)
                terms["g_fm"] = feature_matching_loss(feats_real[:-1], feats_fake[:-1])
            g_loss = (terms["g_adv"] + hp.lambda_rec * terms.get("g_rec", 0.0)
                      + hp.feature_matching * terms.get("g_fm", 0.0))
            self._finite(**terms, g_loss=g_loss)
            norm = self._update(opt, g_loss, self.generator.parameters(), "g_loss")
        return {**terms, "g_loss": g_loss, "loss": g_loss, "grad_norm_g": norm}

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        cond, real = self.condition(batch), batch["target"]
        opt_g, opt_d = self.optimizers()
        with torch.set_grad_enabled(self.hparams.g_steps > 0):
            fake = self(cond)  # (B, 3, T, H, W), with G's graph for the first G step
        logs: dict[str, Any] = {}
        for _ in range(self.hparams.d_steps):
            logs.update(self._d_step(opt_d, real, fake, cond))
        for i in range(self.hparams.g_steps):
            logs.update(self._g_step(opt_g, real, fake if i == 0 else self(cond), cond))
        for key in PROGRESS_BAR:  # every step, as the progress bar shows them
            if key in logs:
                self.log(f"train/{key}", logs[key].detach(), prog_bar=True, batch_size=len(cond))
        self._step_logs = ({k: v if k == LOGITS else v.detach() for k, v in logs.items()}, len(cond))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """The batch's other figures, logged only when they reach a logger or the run's final metrics.

        Lightning writes step metrics every ``trainer.log_every_n_steps`` batches; logging eleven
        scalars on every batch cost ~6 % of a small GAN step on a CPU in ``self.log`` alone (``python -m
        videogen3d.bench overhead``). Logging them here, on exactly the batches whose metrics are
        written (or that end the epoch, the run or a stop, so ``callback_metrics`` ends with the last
        batch's values), writes the same values at the same steps."""
        logs, batch_size = self._step_logs or ({}, 0)
        self._step_logs = None
        if not logs or not self._writes_logs(batch_idx):
            return
        logs = dict(logs)
        if LOGITS in logs:
            adv, (logits_real, logits_fake) = self.adversarial, logs.pop(LOGITS)
            d = {"d_real": adv.score(logits_real), "d_fake": adv.score(logits_fake),
                 "d_acc_real": adv.accuracy(logits_real, True), "d_acc_fake": adv.accuracy(logits_fake, False)}
            logs = {"d_loss": logs.pop("d_loss"), **d, **logs}
        for key, value in logs.items():
            if key not in PROGRESS_BAR:
                self.log(f"train/{key}", value, batch_size=batch_size)

    def _writes_logs(self, batch_idx: int) -> bool:
        """Whether this batch's step metrics are written (Lightning's own test) or are the last ones."""
        trainer = self._trainer
        connector = getattr(trainer, "_logger_connector", None)
        if trainer is None or connector is None or trainer.fast_dev_run or trainer.should_stop:
            return True
        last_of_epoch = batch_idx + 1 >= trainer.num_training_batches
        last_of_run = 0 <= trainer.max_steps <= trainer.global_step
        return bool(last_of_epoch or last_of_run or connector.should_update_logs)

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        for sch in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
            sch.step()

    def configure_optimizers(self) -> Any:
        make_g, make_d = self.optimizer_factories
        opts = [make_g(params=self.generator.parameters()), make_d(params=self.disc.parameters())]
        if self.scheduler_factory is None:
            return opts
        return opts, [self.scheduler_factory(optimizer=o) for o in opts]
