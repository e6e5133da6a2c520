"""Video-to-video translators (generators) of seed 000 §3: (B, 3, T, H, W) in [-1, 1] -> same shape, tanh.

One class per family; variants are data in ``conf/generator/*.yaml``:

- ``ResNetTranslator``: residual bottleneck and deep ResNet V1/V2 (A-1..A-14)
- ``UNet3d``: 3D U-Net (A-5, A-6)
- ``StagedResNetTranslator``: deep ResNet V3 (A-15..A-18)
- ``ResUNet3d``: residual U-Net, ResNet-V4 (A-19, A-20) and our ResNet-V5-A/B/C
"""

from videogen3d.models.translators._base import Translator
from videogen3d.models.translators.resnet import ResNetTranslator
from videogen3d.models.translators.resunet import ResUNet3d
from videogen3d.models.translators.staged import StagedResNetTranslator
from videogen3d.models.translators.unet import UNet3d

__all__ = ["ResNetTranslator", "ResUNet3d", "StagedResNetTranslator", "Translator", "UNet3d"]
