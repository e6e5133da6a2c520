"""Conv-N discriminator: the seed's "Concatenate + N Conv Layers" (seed 000 §4.2-4.4).

A 3D PatchGAN in the manner of pix2pix's ``NLayerDiscriminator``: ``n_layers`` counted convs
in all (B-1, B-3, B-4: 4; B-2, B-6..B-8: 5; B-9, B-10, B-12, B-14, B-15: 6)::

    [cond -> (conv)] ++ x                       channel-wise concatenation
    layer 0           ndf,        H/2   no norm (pix2pix)
    layer 1..N-3      ndf*2^i,    H/2 each      (width capped: ndf * min(2**i, 8))
    layer N-2         ndf*2^(N-2), stride 1
    layer N-1         1 logit channel, stride 1

so the spatial factor is ``2**(N-2)`` (conv4: 4, conv6: 16). With ``temporal_compress`` the
last two feature layers (N-3 and N-2) also halve T: "1/4 in Last Two Layers" (B-1..B-4).
Kernels are 3 (pix2pix uses 4): a kernel-3, stride-2, padding-1 conv gives exactly ceil(L/2).
"""

from __future__ import annotations

from collections.abc import Sequence

from videogen3d.models.discriminators._base import Discriminator, trunk_stride


class ConvDiscriminator(Discriminator):
    def __init__(
        self,
        *,
        clip_len: int,
        frame_size: int | Sequence[int],
        n_layers: int = 4,
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
        if n_layers < 3:
            raise ValueError(f"ConvDiscriminator: n_layers={n_layers} must be at least 3 "
                             "(a down-sampling layer, a stride-1 layer and the logit layer)")
        n_down = n_layers - 2
        super().__init__(clip_len=clip_len, frame_size=frame_size, in_channels=in_channels,
                         cond_channels=cond_channels, ndf=ndf, max_channels=max_channels, norm=norm,
                         cond_entry=cond_entry, temporal_compress=temporal_compress, output=output,
                         spectral_norm=spectral_norm, s_factor=2 ** n_down)
        self.n_layers = n_layers
        n_feat = n_layers - 1
        ch = self.entry_channels
        for i in range(n_feat):
            halve_t = temporal_compress and i >= n_feat - 2
            stride = trunk_stride(halve_hw=i < n_down, halve_t=halve_t)
            self.trunk.append(self.cna(ch, self.width(i), stride, norm="none" if i == 0 else None))
            ch = self.width(i)
        self.trunk.append(self.logit_conv(ch))
        self._finish(conv_layers if conv_layers is not None else n_layers)
