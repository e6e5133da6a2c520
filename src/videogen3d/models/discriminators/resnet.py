"""ResNet discriminator: the seed's "Concatenate + ResNet-11" (seed 000 §4.2 B-5, §4.4 B-11, B-13).

The seed withholds the layout; this one is ours. Counted layers (``blocks.count_conv_layers``:
main-path convs; projection shortcuts are not counted), with the default ``n_blocks=4``::

    stem      1  conv ndf, H/2, no norm (as the first pix2pix layer)
    blocks    8  4 x ResBlock3d (2 convs each): widths ndf * min(2**i, 8); blocks 1..3 halve H, W
    neck      1  conv, stride 1
    logit     1  conv to one logit channel
    -------  11  = 2 * n_blocks + 3

so the spatial factor is ``2**n_blocks`` (16). With ``temporal_compress`` the last two blocks
also halve T: "1/4 in Last Two Blocks" (B-5). The optional condition-entry conv is outside
the 11, as the seed lists it in its own column.
"""

from __future__ import annotations

from collections.abc import Sequence


from videogen3d.models.blocks import ResBlock3d
from videogen3d.models.discriminators._base import Discriminator, trunk_stride


class ResNetDiscriminator(Discriminator):
    def __init__(
        self,
        *,
        clip_len: int,
        frame_size: int | Sequence[int],
        n_blocks: int = 4,
        in_channels: int = 3,
        cond_channels: int = 3,
        ndf: int = 64,
        max_channels: int = 512,
        norm: str = "instance",
        cond_entry: str = "conv",
        temporal_compress: bool = True,
        output: str = "patch",
        spectral_norm: bool = False,
        conv_layers: int | None = None,
    ) -> None:
        if n_blocks < 2:
            raise ValueError(f"ResNetDiscriminator: n_blocks={n_blocks} must be at least 2")
        super().__init__(clip_len=clip_len, frame_size=frame_size, in_channels=in_channels,
                         cond_channels=cond_channels, ndf=ndf, max_channels=max_channels, norm=norm,
                         cond_entry=cond_entry, temporal_compress=temporal_compress, output=output,
                         spectral_norm=spectral_norm, s_factor=2 ** n_blocks)
        self.n_blocks = n_blocks
        self.trunk.append(self.cna(self.entry_channels, self.width(0), trunk_stride(True, False), norm="none"))
        ch = self.width(0)
        for i in range(n_blocks):
            halve_t = temporal_compress and i >= n_blocks - 2
            stride = trunk_stride(halve_hw=i > 0, halve_t=halve_t)
            self.trunk.append(ResBlock3d(ch, self.width(i), stride, norm=norm, act="leaky_relu"))
            ch = self.width(i)
        self.trunk.append(self.cna(ch, ch, (1, 1, 1)))
        self.trunk.append(self.logit_conv(ch))
        self._finish(conv_layers)
