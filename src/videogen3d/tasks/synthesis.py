"""Label-driven synthesis (seed 003, §3.5 and §4.2) as a LightningModule whose parameter is the video batch.

``method="ours"`` follows eq. 8: ``X <- X - η_C3D ∂L_C3D/∂X - η_tempCAE ∂L_tempCAE/∂X``;
``method="comparison"`` follows eq. 11 (Simonyan et al.'s L2-regularised extension):
``X <- X - η_C3D ∂L_C3D/∂X - η_norm ∂L_norm/∂X``. Both start from a random video.

Plain gradient descent is SGD with learning rate 1 on ``Σ_videos (η_C3D L_C3D + η_x L_x)``, so
one step is exactly eq. 8/11 for every video of the batch (the sum keeps each video's update
independent of the batch size). ``optimizer="adam"`` (our option) uses Adam with ``lr`` on the
same weighted objective. Running under a Lightning ``Trainer(max_steps=iterations)`` gives a
GPU, bf16 autocast and a progress bar without code here. The classifier and the tempCAE are
frozen and kept in eval mode (batch norm uses its running statistics, dropout is off): each is used as a
:func:`~videogen3d.models.blocks.frozen_copy` (batch norm folded into its convolution, NDHWC memory).
After each step the pixels are clamped to [-1, 1], the range the networks were trained on
(our choice; the seed does not say). ``eta_scale`` multiplies all three η (Table 1's ratios
kept) for scales with fewer iterations and pixels; ``eta_c3d_scale`` (default: ``eta_scale``) sets
η_C3D's factor apart, for scales where the classifier's pixel gradient does not shrink like the
priors' (see :mod:`videogen3d.losses.synthesis`). ``prior_gradient="residual"`` (ours) stops the
tempCAE term's gradient through the decoder (:meth:`videogen3d.models.tempcae.TempCAE.decoded_error`).

Our additions for the improved method (each off by default, so eq. 8 / 11 run as printed;
:mod:`videogen3d.data.transforms`): ``classifier`` may be a list (an ensemble: the target error
is averaged over its members); ``jitter`` (a dict ``shift`` px, ``scale``, ``time_shift`` frames)
resamples the video at random before each classifier forward; ``eta_tv`` weights a total-variation
term; ``optimizer="normgd"`` steps ``lr`` along each video's RMS-normalised gradient;
``coarse_factor``/``coarse_until`` average the gradient over ``f x f`` blocks for the first
``coarse_until`` share of the iterations (coarse-to-fine); ``langevin`` adds Gaussian noise of that
std after each step, decaying linearly to 0.

``generator`` (ours; DGN-AM, Nguyen et al. 2016) changes what is optimised: instead of the pixels, one
whitened code ``u`` per video, and the video is ``generator.decode_whitened(u)`` (the clip VAE of
:mod:`videogen3d.tasks.vae`, whose codes of real clips have mean 0 and identity covariance in ``u``).
The code prior ``eta_code * |u|^2 / 2`` (the negative log-density of that Gaussian) joins the
objective; the start is ``u ~ N(0, code_init^2 I)``, a random video that the generator can make.
Every other term (classifier, tempCAE or norm prior, TV, jitter) applies to the decoded video as
before; pixel clamping, coarse-to-fine and the normalised step act on the pixels only and are
refused with a generator; Langevin noise is added to the code. ``code_sphere=True`` projects every code
onto ``|u| = sqrt(latent_dim)`` at the start and after each step (PULSE, Menon et al. 2020): the shell where
nearly all whitened codes of real clips lie, which the prior's pull toward the mean would leave.

``layers=True`` (with a generator): a multi-label target (§5, "a car runs right and a rocket flies up")
gets one code per label, each decoded to a layer over the white background, and the video is their
product in [0, 1] (a multiply blend: white is transparent, so each object shows where it is alone). The
video is steered toward the multi-label target as before, and each layer toward its own label, so that
each object is one class rather than both a half-way shape. A single-label target has one layer and
is unchanged. The generator was trained on clips of one object; it cannot make two in one code.
``layout=f`` and ``matte=τ`` (ours, with layers) act on the output only (:meth:`synthesized`; the optimisation does
not see them): each layer of a multi-label video has its faint ink below τ made white, the decoder's haze and ghosts
that the blend would lay over the other object, and is then moved apart from the layers before it by up to ``f`` of
the frame (:func:`~videogen3d.data.transforms.place_layers`); single-label videos are as decoded.
``eta_ink`` (ours, with layers; needs ``class_ink``, each class's mean ink per frame in its real training clips) adds
the ink prior :func:`~videogen3d.losses.synthesis.ink_error` (counted from ``matte`` up) to multi-label videos only.

``pair_classifier`` (ours, with layers and ``composite_weight > 0``): the composite's share of a multi-label
video's classifier term is read by this network, a C3D trained on two-object clips
(``classifier.pair``), instead of the ensemble, whose members were trained on one object per clip and read
a composite as one object with features of both; the layers stay with the ensemble.

``candidates=K`` (ours; random restarts): each video starts from ``K`` random draws and keeps the one its own
classifiers score highest after the first ``select_at`` share of the iterations
(:class:`~videogen3d.tasks.synthesis_candidates.CandidateSelection`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from videogen3d.models.blocks import frozen_copy
from videogen3d.losses.synthesis import ink_error, norm_error, target_error
from videogen3d.data.transforms import (coarse_gradient, jitter, multiply_blend, normalise_gradient, place_layers,
                                        total_variation)
from videogen3d.tasks.synthesis_candidates import CandidateSelection
from videogen3d.tasks.synthesis_settings import JITTER_KEYS, METHODS, PRIOR_GRADIENTS, check_settings, checked_class_ink

__all__ = ["PixelSynthesis", "METHODS", "PRIOR_GRADIENTS", "check_settings"]


class _Ticks(Dataset):
    """``n`` empty items: one per synthesis iteration (the batch itself is the parameter)."""

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


class PixelSynthesis(CandidateSelection, pl.LightningModule):
    """Optimise ``video (N, C, T, H, W)`` toward ``targets (N, K)`` under a frozen classifier.

    Logs ``synth/l_c3d``, ``synth/l_tempcae`` or ``synth/l_norm``, ``synth/objective`` and
    ``synth/p_target`` (mean classifier probability mass on the target labels), all per video.
    """

    def __init__(self, classifier: nn.Module | Sequence[nn.Module], targets: torch.Tensor, clip_len: int, frame_size: Sequence[int], *,
                 method: str = "ours", tempcae: nn.Module | None = None, eta_c3d: float = 10.0,
                 eta_tempcae: float = 10.0, eta_norm: float = 5.0, optimizer: str = "gd", lr: float = 0.01,
                 iterations: int = 50000, init_scale: float = 1.0, clamp: bool = True, channels: int = 3,
                 seed: int = 0, eta_scale: float = 1.0, eta_c3d_scale: float | None = None,
                 prior_gradient: str = "full", jitter: dict[str, float] | None = None, eta_tv: float = 0.0,
                 coarse_factor: int = 1, coarse_until: float = 0.0, langevin: float = 0.0,
                 generator: nn.Module | None = None, eta_code: float = 1.0, code_init: float = 1.0,
                 layers: bool = False, candidates: int = 1, select_at: float = 0.25, select_views: int = 4,
                 select_by: str = "mean", select_layers: str = "joint", code_sphere: bool = False,
                 composite_weight: float = 0.5, layout: float = 0.0,
                 matte: float = 0.0, pair_classifier: nn.Module | None = None, eta_ink: float = 0.0,
                 class_ink: Sequence[float] | torch.Tensor | None = None) -> None:
        super().__init__()
        check_settings(tempcae=tempcae is not None, generator=generator is not None, method=method,
                       optimizer=optimizer, prior_gradient=prior_gradient, eta_scale=eta_scale,
                       eta_c3d_scale=eta_c3d_scale, jitter=jitter, eta_tv=eta_tv, coarse_factor=coarse_factor,
                       coarse_until=coarse_until, langevin=langevin, eta_code=eta_code, code_init=code_init,
                       code_sphere=code_sphere, candidates=candidates, select_at=select_at, select_views=select_views,
                       select_by=select_by, select_layers=select_layers, composite_weight=composite_weight,
                       layout=layout, matte=matte, layers=layers,
                       pair=pair_classifier is not None, eta_ink=eta_ink)
        self.composite_weight, self.layout, self.matte = float(composite_weight), float(layout), float(matte)
        self.eta_ink = float(eta_ink)
        if self.eta_ink > 0:
            self.register_buffer("class_ink", checked_class_ink(eta_ink, class_ink, targets.shape[1]))
        self.layout_shifts: dict[int, list[tuple[int, int]]] = {}
        self.candidates, self.select_at, self.select_views = int(candidates), float(select_at), int(select_views)
        self.select_by, self.select_layers = select_by, select_layers
        self._selected = self.candidates == 1
        targets = targets.repeat_interleave(self.candidates, 0)  # K draws per video, side by side
        self.method, self.optimizer_name, self.lr = method, optimizer, float(lr)
        eta_c3d_scale = eta_scale if eta_c3d_scale is None else eta_c3d_scale
        self.eta_scale, self.eta_c3d_scale = float(eta_scale), float(eta_c3d_scale)
        self.prior_gradient = prior_gradient
        self.eta_c3d = float(eta_c3d) * self.eta_c3d_scale
        self.eta_tempcae, self.eta_norm = (float(e) * self.eta_scale for e in (eta_tempcae, eta_norm))
        self.iterations, self.clamp = int(iterations), bool(clamp)
        members = list(classifier) if isinstance(classifier, (list, tuple, nn.ModuleList)) else [classifier]
        if not members:
            raise ValueError("synthesis needs at least one classifier")
        self.classifiers = nn.ModuleList([frozen_copy(c) for c in members])
        self.classifier = self.classifiers[0]
        # the composite term of a multi-label video read by a C3D trained on two-object clips (None: the ensemble)
        self.pair_classifier = frozen_copy(pair_classifier) if pair_classifier is not None else None
        self.jitter = {k: float((jitter or {}).get(k, 0.0)) for k in JITTER_KEYS}
        self.eta_tv, self.langevin = float(eta_tv), float(langevin)
        self.coarse_factor, self.coarse_until = int(coarse_factor), float(coarse_until)
        self._jitter_gen = torch.Generator().manual_seed(int(seed) + 1)
        self.tempcae = frozen_copy(tempcae) if (tempcae is not None and method == "ours") else None
        self.register_buffer("targets", targets.float())
        h, w = (int(frame_size[0]), int(frame_size[1]))
        g = torch.Generator().manual_seed(int(seed))
        self.eta_code, self.code_init, self.code_sphere = float(eta_code), float(code_init), code_sphere
        self.generator = None
        if generator is not None:
            if not hasattr(generator, "decode_whitened"):
                raise ValueError(f"synthesis generator must have decode_whitened(u) (a clip VAE module), got "
                                 f"{type(generator).__name__}")
            self.generator = frozen_copy(generator)
            t = targets.float()
            n_labels = (t > 0).sum(1)
            n_layers = int(n_labels.max()) if layers else 1
            # layer l of video n aims at the l-th label of its target (one-hot); unused layers stay white
            order = t.argsort(dim=1, descending=True)[:, :n_layers]  # (N, L) labels by weight
            self.register_buffer("layer_mask", (torch.arange(n_layers)[None] < n_labels[:, None]).float()
                                 if layers else torch.ones(len(t), 1))
            self.register_buffer("layer_targets", F.one_hot(order, t.shape[1]).float())  # (N, L, K)
            self.register_buffer("multi", n_labels > 1)
            code = torch.randn(len(targets), n_layers, int(generator.latent_dim), generator=g) * self.code_init
            self.code = nn.Parameter(code)  # (N, L, latent_dim), whitened
            self.project_codes()
            self.clamp = False  # the decoder's tanh keeps the pixels in [-1, 1]
        else:  # "we started with a random video" (§3.5): uniform noise in [-init_scale, init_scale]
            init = (torch.rand(len(targets), channels, int(clip_len), h, w, generator=g) * 2 - 1) * init_scale
            self.video = nn.Parameter(init)  # (N, C, T, H, W)

    @property
    def parameter(self) -> nn.Parameter:
        """What is optimised: the pixels, or the codes when synthesising through a generator."""
        return self.code if self.generator is not None else self.video

    def synthesized(self) -> torch.Tensor:
        """The current videos ``(N, C, T, H, W)``, detached (each video's best draw: candidates are selected
        first if they were not yet)."""
        self.select_candidates()
        with torch.no_grad():
            if ((self.layout > 0 or self.matte > 0) and self.generator is not None and self.n_layers > 1
                    and bool(self.multi.any())):
                return self._laid_out().detach()
            return self.current_video().detach()

    def _laid_out(self) -> torch.Tensor:
        """The composites with each multi-label video's layers matted and placed apart (:func:`place_layers`: ink
        below ``matte`` made white, shifts of up to ``layout`` of the frame's height and width, kept in
        ``layout_shifts``); single-label videos as they are."""
        layers01 = self._layers()
        h, w = layers01.shape[-2:]
        limit = (int(self.layout * h), int(self.layout * w))
        for i in self.multi.nonzero().flatten().tolist():
            used = int(self.layer_mask[i].sum())
            layers01[i, :used], self.layout_shifts[i] = place_layers(layers01[i, :used], self.matte, limit)
        return self._composite(layers01)

    def current_video(self) -> torch.Tensor:
        if self.generator is None:
            return self.video
        return self._composite(self._layers())

    @torch.no_grad()
    def project_codes(self) -> None:
        """With ``code_sphere``: each code onto the sphere ``|u| = sqrt(latent_dim)``, where nearly all of the
        whitened codes of real clips lie (a Gaussian's typical set); a no-op otherwise."""
        if self.code_sphere:  # refused without a generator
            d = self.code.shape[-1]
            self.code.mul_(d ** 0.5 / self.code.norm(dim=-1, keepdim=True).clamp_min(1e-6))

    @property
    def n_layers(self) -> int:
        return int(self.code.shape[1]) if self.generator is not None else 1

    def _layers(self) -> torch.Tensor:
        """Each layer decoded, in [0, 1], unused ones white: ``(N, L, C, T, H, W)``."""
        n, n_layers, d = self.code.shape
        # only the layers in use are decoded: a single-label video's second layer is white and gets no
        # gradient (the cpu scale's 36 targets: 39 decodes instead of 72)
        used = (self.layer_mask.flatten() > 0).nonzero().flatten()
        part = (self.generator.decode_whitened(self.code.reshape(n * n_layers, d)[used]) + 1) / 2
        out = part.new_ones(n * n_layers, *part.shape[1:]).index_put((used,), part)
        return out.view(n, n_layers, *part.shape[1:])

    @staticmethod
    def _composite(layers01: torch.Tensor) -> torch.Tensor:
        """Multiply blend of the layers (in [0, 1]), back to [-1, 1]."""
        return multiply_blend(layers01, dim=1)

    def train(self, mode: bool = True) -> PixelSynthesis:
        super().train(mode)
        self.classifiers.eval()  # Lightning's fit() calls train(); the frozen networks stay in eval mode
        if self.pair_classifier is not None:
            self.pair_classifier.eval()
        if self.tempcae is not None:
            self.tempcae.eval()
        if self.generator is not None:
            self.generator.eval()
        return self

    def losses(self, video: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-video terms ``(N,)``: ``l_c3d`` and ``l_tempcae`` (ours) or ``l_norm`` (comparison), and ``p_target``."""
        layered = video is None and self.generator is not None and self.n_layers > 1 and bool(self.multi.any())
        if layered:
            layers01 = self._layers()
            x = self._composite(layers01)
        else:
            x = self.current_video() if video is None else video
        seen = jitter(x, **self.jitter, generator=self._jitter_gen) if self.training else x
        logits = [c(seen) for c in self.classifiers]
        l_c3d = torch.stack([target_error(lg, self.targets) for lg in logits]).mean(0)
        if layered:  # each layer of a multi-label video toward its own label, mixed with the composite's term
            rows = self.multi.nonzero().flatten()
            lay = layers01[rows] * 2 - 1  # (M, L, C, T, H, W)
            m, n_layers = lay.shape[:2]
            flat = lay.reshape(m * n_layers, *lay.shape[2:])
            seen_l = jitter(flat, **self.jitter, generator=self._jitter_gen) if self.training else flat
            tl = self.layer_targets[rows].reshape(m * n_layers, -1)
            err = torch.stack([target_error(c(seen_l), tl) for c in self.classifiers]).mean(0).view(m, n_layers)
            mask = self.layer_mask[rows]
            per_video = (err * mask).sum(1) / mask.sum(1)
            w = self.composite_weight
            composite = l_c3d[rows]
            if self.pair_classifier is not None and w > 0:  # the composite toward both labels, read as two objects
                composite = target_error(self.pair_classifier(seen[rows]), self.targets[rows])
            l_c3d = l_c3d.index_put((rows,), w * composite + (1 - w) * per_video)
        p = torch.stack([lg.float().softmax(1) for lg in logits]).mean(0)
        out = {"l_c3d": l_c3d, "p_target": (p * (self.targets > 0)).sum(1)}
        if layered and self.eta_ink > 0:  # each layer of a multi-label video near its label's ink per frame
            ink = ink_error(layers01[rows], self.layer_targets[rows], self.class_ink, mask, self.matte)
            out["l_ink"] = l_c3d.new_zeros(len(l_c3d)).index_put((rows,), ink)
        if self.eta_tv > 0:
            out["l_tv"] = total_variation(x)
        if self.method == "ours":
            out["l_tempcae"] = self.tempcae.decoded_error(  # type: ignore[union-attr]
                x, residual=self.prior_gradient == "residual").float()
        else:
            out["l_norm"] = norm_error(x)
        if self.generator is not None:
            out["l_code"] = (self.code.float().pow(2).sum(2) * self.layer_mask).sum(1) / 2
        return out

    def objective(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        prior = (self.eta_tempcae * terms["l_tempcae"] if self.method == "ours" else self.eta_norm * terms["l_norm"])
        tv = self.eta_tv * terms["l_tv"] if "l_tv" in terms else 0.0
        code = self.eta_code * terms["l_code"] if "l_code" in terms else 0.0
        ink = self.eta_ink * terms["l_ink"] if "l_ink" in terms else 0.0
        return (self.eta_c3d * terms["l_c3d"] + prior + tv + code + ink).sum()

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        terms = self.losses()
        loss = self.objective(terms)
        n = len(self.targets)
        for k, v in terms.items():
            self.log(f"synth/{k}", v.mean(), prog_bar=k in ("l_c3d", "p_target"), batch_size=n)
        self.log("synth/objective", loss / n, batch_size=n)
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.generator is not None:
            return
        g = self.video.grad
        if g is None:
            return
        if self.coarse_factor > 1 and self.global_step < self.coarse_until * self.iterations:
            g = coarse_gradient(g, self.coarse_factor)
        if self.optimizer_name == "normgd":
            g = normalise_gradient(g)
        self.video.grad = g

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if not self._selected and self.global_step >= round(self.select_at * self.iterations):
            self.select_candidates()
        if self.langevin > 0:
            with torch.no_grad():
                std = self.langevin * max(0.0, 1.0 - self.global_step / max(1, self.iterations))
                p = self.parameter
                p.add_(torch.randn(p.shape, generator=self._jitter_gen).to(p) * std)
        self.project_codes()
        if self.clamp:
            with torch.no_grad():
                self.video.clamp_(-1.0, 1.0)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.optimizer_name == "gd":  # eq. 8 / 11: the η are inside the objective
            return torch.optim.SGD([self.parameter], lr=1.0, momentum=0.0)
        if self.optimizer_name == "normgd":  # the gradient is normalised in on_before_optimizer_step
            return torch.optim.SGD([self.parameter], lr=self.lr, momentum=0.0)
        return torch.optim.Adam([self.parameter], lr=self.lr)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Ticks(self.iterations), batch_size=1, num_workers=0)

    def settings(self) -> dict[str, object]:
        """The Table 1 columns for this run."""
        return {"method": self.method, "iterations": self.iterations, "optimizer": self.optimizer_name,
                "eta_c3d": self.eta_c3d, "eta_tempcae": self.eta_tempcae if self.method == "ours" else None,
                "eta_norm": self.eta_norm if self.method == "comparison" else None,
                "lr": self.lr if self.optimizer_name != "gd" else None, "eta_scale": self.eta_scale,
                "eta_c3d_scale": self.eta_c3d_scale,
                "prior_gradient": self.prior_gradient if self.method == "ours" else None,
                "classifiers": len(self.classifiers), "jitter": self.jitter if any(self.jitter.values()) else None,
                "eta_tv": self.eta_tv or None, "langevin": self.langevin or None,
                "coarse": [self.coarse_factor, self.coarse_until] if self.coarse_factor > 1 else None,
                "generator": type(self.generator).__name__ if self.generator is not None else None,
                "eta_code": self.eta_code if self.generator is not None else None,
                "code_init": self.code_init if self.generator is not None else None,
                "code_sphere": self.code_sphere or None,
                "layers": self.n_layers if self.generator is not None and self.n_layers > 1 else None,
                "composite_weight": (self.composite_weight if self.generator is not None and self.n_layers > 1
                                     else None),
                "layout": (self.layout or None) if self.generator is not None and self.n_layers > 1 else None,
                "matte": (self.matte or None) if self.generator is not None and self.n_layers > 1 else None,
                "pair_classifier": self.pair_classifier is not None or None,
                "eta_ink": (self.eta_ink or None) if self.generator is not None and self.n_layers > 1 else None,
                "candidates": self.candidates if self.candidates > 1 else None,
                "select_at": self.select_at if self.candidates > 1 else None,
                "select_by": self.select_by if self.candidates > 1 and self.select_by != "mean" else None,
                "select_layers": (self.select_layers if self.candidates > 1 and self.select_layers != "joint"
                                  and self.generator is not None and self.n_layers > 1 else None)}
