"""Training losses: adversarial (``GANLoss``) and feature matching (seed 000 §4)."""

from videogen3d.losses.gan import GAN_MODES, GANLoss, feature_matching_loss

__all__ = ["GAN_MODES", "GANLoss", "feature_matching_loss"]
