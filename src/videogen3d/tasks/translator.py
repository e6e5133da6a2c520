"""Video-to-video translation tasks: the shared evaluation base and the MSE/L1 translator.

Seed 000 §3: a 3D-conv generator maps a condition clip (stick figure) to a target clip
(character), trained with a reconstruction loss (MSE by default, L1 as in trial A-1's
comparison). The conditional GAN (``videogen3d.tasks.gan``) reuses the base below, so both
report the same metrics and write the same sample media.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from videogen3d.metrics.video import video_metrics
from videogen3d.utils.video import frame_hw

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., Any]
_NOT_HPARAMS = ("generator", "disc", "reconstruction", "adversarial", "optimizer", "disc_optimizer", "scheduler")


class VideoTranslationTask(pl.LightningModule):
    """Evaluation, sample keeping and the generator's optimizer: what every translator shares.

    Batches are dicts of float videos ``(B, 3, T, H, W)`` in [-1, 1]: ``cond`` (the condition)
    and ``target``. The first validation batch of each epoch is kept in ``self.samples`` as
    ``(cond, generated, target)`` on the CPU for ``SampleMediaCallback``.
    """

    def __init__(
        self,
        generator: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        num_samples: int = 4,
        frame_size: int | list[int] | None = None,
    ) -> None:
        super().__init__()
        if frame_size is not None:  # plain types: checkpoints load with weights_only
            frame_size = list(frame_hw(frame_size))
        # networks live in the state dict and factories as attributes: hparams hold plain values only
        self.save_hyperparameters(logger=False, ignore=[*_NOT_HPARAMS])
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.generator = generator
        self.val_metrics = video_metrics("val/", frame_size=frame_size)
        self.test_metrics = video_metrics("test/", frame_size=frame_size)
        self.samples: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    # ----------------------------------------------------------------------------- inputs
    @staticmethod
    def condition(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "cond" not in batch:
            raise ValueError(
                f"this task translates a condition video into a target video, but the batch has only "
                f"{sorted(batch)}: choose a paired dataset (dataset=stick_to_puppet, puppet_to_puppet "
                f"or video_pairs)"
            )
        return batch["cond"]

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        return self.generator(cond)

    # ------------------------------------------------------------------------- evaluation
    def _evaluate(self, batch: dict[str, torch.Tensor], batch_idx: int, stage: str) -> torch.Tensor:
        cond, target = self.condition(batch), batch["target"]
        fake = self(cond)
        loss = nn.functional.mse_loss(fake.float(), target.float())
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        metrics.update(fake, target)
        self.log(f"{stage}/loss", loss, prog_bar=stage == "val", sync_dist=True, batch_size=len(cond))
        if stage == "val" and batch_idx == 0:
            n = self.hparams.num_samples
            self.samples = (cond[:n].detach().float().cpu(), fake[:n].detach().float().cpu(),
                            target[:n].detach().float().cpu())
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._evaluate(batch, batch_idx, "test")

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute(), prog_bar=False, sync_dist=True)
        self.val_metrics.reset()

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute(), sync_dist=True)
        self.test_metrics.reset()

    # ------------------------------------------------------------------------- optimizers
    def _with_scheduler(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        out: dict[str, Any] = {"optimizer": optimizer}
        if self.scheduler_factory is not None:
            out["lr_scheduler"] = {"scheduler": self.scheduler_factory(optimizer=optimizer), "interval": "epoch"}
        return out

    def configure_optimizers(self) -> dict[str, Any]:
        return self._with_scheduler(self.optimizer_factory(params=self.generator.parameters()))


class TranslatorModule(VideoTranslationTask):
    """The plain translator: generator trained with a reconstruction loss (seed 000 §3.2)."""

    def __init__(
        self,
        generator: nn.Module,
        reconstruction: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        num_samples: int = 4,
        frame_size: int | list[int] | None = None,
    ) -> None:
        super().__init__(generator, optimizer, scheduler, num_samples, frame_size)
        self.reconstruction = reconstruction

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        cond, target = self.condition(batch), batch["target"]
        fake = self(cond)
        loss = self.reconstruction(fake.float(), target.float())
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the reconstruction loss ({type(self.reconstruction).__name__}) is {loss.item()} at step "
                f"{self.global_step}; the last good checkpoint is kept. Lower optim.generator.lr or use "
                f"trainer.gradient_clip_val"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(cond))
        return loss
