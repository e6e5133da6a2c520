"""Sample media every N epochs: a side-by-side MP4 (condition | generated | target) and a PNG strip."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from videogen3d.data.video_io import write_png, write_video
from videogen3d.utils.media import frame_grid, side_by_side

log = logging.getLogger(__name__)


class SampleMediaCallback(pl.Callback):
    """Write what the generator makes of the first validation batch.

    Files: ``{dirpath}/epoch{E:03d}.mp4`` (one row per sample, columns condition | generated |
    target) and ``{dirpath}/epoch{E:03d}.png`` (rows condition, generated, target of the first
    sample; one column per frame). Loggers that take media get them too: W&B as ``wandb.Image`` and
    ``wandb.Video``, TensorBoard as an image and an animated GIF (TensorBoard's video format).
    """

    def __init__(self, dirpath: str, every_n_epochs: int = 1, fps: float = 8.0, gap: int = 2) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.dirpath = Path(dirpath)
        self.every_n_epochs = every_n_epochs
        self.fps = fps
        self.gap = gap
        self.latest_video: Path | None = None
        self.latest_png: Path | None = None

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        samples = getattr(pl_module, "samples", None)
        if samples is None or trainer.sanity_checking:
            return
        epoch = trainer.current_epoch
        last = trainer.max_epochs is not None and epoch + 1 >= trainer.max_epochs
        if (epoch + 1) % self.every_n_epochs and not last and not trainer.should_stop:
            return
        cond, fake, target = samples
        rows = [side_by_side([c, f, t], gap=self.gap) for c, f, t in zip(cond, fake, target)]
        sep = np.full((rows[0].shape[0], self.gap, rows[0].shape[2], 3), 255, np.uint8)
        video = np.concatenate([x for r in rows for x in (r, sep)][:-1], axis=1)  # (T, rows, W, 3)
        strip = frame_grid([cond[0], fake[0], target[0]], gap=self.gap)
        stem = self.dirpath / f"epoch{epoch:03d}"
        write_video(stem.with_suffix(".mp4"), video, fps=self.fps)
        write_png(stem.with_suffix(".png"), strip)
        self.latest_video, self.latest_png = stem.with_suffix(".mp4"), stem.with_suffix(".png")
        self._log_to_loggers(trainer, strip, video)

    def _log_to_loggers(self, trainer: pl.Trainer, strip: np.ndarray, video: np.ndarray) -> None:
        for lg in trainer.loggers:
            if isinstance(lg, pl.loggers.WandbLogger):
                import wandb

                lg.experiment.log({"samples/strip": wandb.Image(strip),
                                   "samples/video": wandb.Video(str(self.latest_video), format="mp4"),
                                   "trainer/global_step": trainer.global_step})
            elif isinstance(lg, pl.loggers.TensorBoardLogger):
                lg.experiment.add_image("samples/strip", strip, trainer.global_step, dataformats="HWC")
                # what SummaryWriter.add_video writes (an animated GIF in an image summary), without moviepy
                # (add_video needs it, and moviepy 2 dropped the moviepy.editor it imports); Lightning's own
                # log_hyperparams adds summaries through the same file writer
                lg.experiment._get_file_writer().add_summary(gif_summary("samples/video", video, self.fps),
                                                             trainer.global_step)


def gif_summary(tag: str, video: np.ndarray, fps: float):
    """A TensorBoard image summary holding ``uint8 (T, H, W, 3)`` frames as an animated GIF (Pillow)."""
    from PIL import Image
    from tensorboard.compat.proto.summary_pb2 import Summary

    frames = [Image.fromarray(f) for f in video]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(int(round(1000 / fps)), 20), loop=0)
    t, h, w, c = video.shape
    image = Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=buf.getvalue())
    return Summary(value=[Summary.Value(tag=tag, image=image)])
