"""Random restarts for :class:`~videogen3d.tasks.synthesis.PixelSynthesis` (ours): ``candidates=K``.

Each video starts from ``K`` random draws, optimised together (side by side in the batch) for the first
``select_at`` share of the iterations; then each video keeps the draw that its own classifiers score highest
(:meth:`CandidateSelection.candidate_scores`) and goes on alone (the optimizer's state is reset). Gradient
descent from one start often stalls in a place that no classifier calls the target (half-way between two
objects, or, through the sprite-and-path clip VAE, an object that moves the wrong way); the selection uses only
the method's own classifiers, never the judge.
"""

from __future__ import annotations

import torch

from videogen3d.data.transforms import jitter

__all__ = ["CandidateSelection"]


class CandidateSelection:
    """The selection half of ``candidates=K``, mixed into ``PixelSynthesis``, whose attributes it reads
    (``classifiers``, ``jitter``, ``targets``, the layers' buffers, ``parameter``, ``select_views``, ...)."""

    def _view_scores(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The ensemble's probability mass on ``targets`` for each clip of ``x``, each guide's averaged over the clean
        clip and ``select_views`` jittered copies (a fixed random stream); then the guides' mean, or with
        ``select_by="weakest"`` the lowest guide's (a draw that fools some guides and not another scores low)."""
        gen = torch.Generator().manual_seed(12345)
        views = [x] + ([jitter(x, **self.jitter, generator=gen) for _ in range(self.select_views)]
                       if any(self.jitter.values()) else [])
        mask = (targets > 0).to(x.dtype)
        per_guide = torch.stack([torch.stack([(c(v).float().softmax(1) * mask).sum(1) for v in views]).mean(0)
                                 for c in self.classifiers])  # (guides, N)
        return per_guide.min(0).values if self.select_by == "weakest" else per_guide.mean(0)

    def _layer_scores(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The multi-label draws' rows ``(M,)`` and each of their layers' score toward its own label ``(M, L)``
        (unused layers ``inf``); None when no video is made of layers."""
        if self.generator is None or self.n_layers <= 1 or not bool(self.multi.any()):
            return None
        rows = self.multi.nonzero().flatten()
        layers = self._layers()[rows] * 2 - 1  # (M, L, C, T, H, W)
        m, n_layers = layers.shape[:2]
        per_layer = self._view_scores(layers.reshape(m * n_layers, *layers.shape[2:]),
                                      self.layer_targets[rows].reshape(m * n_layers, -1)).view(m, n_layers)
        return rows, per_layer.masked_fill(self.layer_mask[rows] == 0, float("inf"))

    @torch.no_grad()
    def candidate_scores(self, layer_scores: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Each current draw's own-classifier score ``(N*K,)``: the ensemble's probability mass on its target
        (:meth:`_view_scores`). A multi-label video made of layers is scored as it is optimised: each layer toward
        its own label, the video by its weakest layer (both objects must be there), mixed with the composite's
        score by ``composite_weight`` (the ensemble, trained on one object per clip, reads a composite as one
        object, so a draw with one clear object and the other faint or out of frame scored high on it)."""
        scores = self._view_scores(self.current_video(), self.targets)
        layer_scores = self._layer_scores() if layer_scores is None else layer_scores
        if layer_scores is not None:
            rows, per_layer = layer_scores
            w = self.composite_weight
            scores = scores.index_put((rows,), w * scores[rows] + (1 - w) * per_layer.min(1).values)
        return scores

    def select_candidates(self) -> torch.Tensor | None:
        """Keep each video's best draw (see the module's docstring); returns the kept indices, or None when
        there is nothing to select (one candidate, or already selected). With ``select_layers="each"`` each layer
        of a multi-label video keeps its own best draw by its own score instead (the layers are optimised apart,
        each toward its own label, so a car from one draw and a rocket from another make a video); the
        returned index is then the video's first draw (its targets are the same in every draw)."""
        if self._selected:
            return None
        k = self.candidates
        with torch.no_grad():
            layer_scores = self._layer_scores()
            first = torch.arange(len(self.targets) // k, device=self.targets.device) * k
            keep = self.candidate_scores(layer_scores).view(-1, k).argmax(1) + first
            param = self.parameter
            data = param.data[keep].clone()
            if self.select_layers == "each" and layer_scores is not None:
                rows, per_layer = layer_scores  # every draw of a multi-label video is a row, side by side
                videos = rows.view(-1, k)[:, 0] // k
                n_layers = per_layer.shape[1]
                own = per_layer.view(-1, k, n_layers).argmax(1) + videos[:, None] * k  # (videos, L) draw per layer
                data[videos] = param.data[own, torch.arange(n_layers, device=own.device)]
                keep = keep.index_put((videos,), videos * k)
        param.data = data
        for name in ("targets", "layer_mask", "layer_targets", "multi"):
            if hasattr(self, name):
                setattr(self, name, getattr(self, name)[keep].clone())
        trainer = self._trainer
        if trainer is not None:  # Adam's moments belong to the dropped draws
            for opt in trainer.optimizers:
                opt.state.pop(param, None)
        self._selected = True
        return keep

    def on_train_end(self) -> None:
        self.select_candidates()
