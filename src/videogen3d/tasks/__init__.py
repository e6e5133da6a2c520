"""The LightningModules, each built by ``hydra.utils.instantiate`` from a ``conf/task`` node (or a
synthesis stage's node) with its networks and ``_partial_`` optimizers injected. No Hydra here."""

from videogen3d.tasks.gan import ConditionalGANModule
from videogen3d.tasks.translator import TranslatorModule, VideoTranslationTask

__all__ = ["ConditionalGANModule", "TranslatorModule", "VideoTranslationTask"]
