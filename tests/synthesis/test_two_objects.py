"""Two objects in one video (seed 003 §5): the judge's two-object composites (``composite_mix``), the share
of a layered multi-label video's classifier term taken on its composite (``composite_weight``) and the layers
placed apart in the output (``layout``) after their faint ink is made white (``matte``)."""

import numpy as np
import pytest
import torch

from videogen3d.data.moving_objects import CLASS_NAMES, render_clip
from videogen3d.losses.synthesis import parse_targets
from videogen3d.models.video_resnet import VideoResNetClassifier
from videogen3d.tasks.classifier import VideoClassifier, two_object_composites
from videogen3d.tasks.synthesis import PixelSynthesis


def test_two_object_composites_blend_pairs_of_different_classes_with_half_targets():
    x = torch.rand(8, 3, 2, 4, 4) * 2 - 1
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 2])
    g = torch.Generator().manual_seed(3)
    out, target = two_object_composites(x, labels, 5, 1.0, generator=g)
    partner = torch.randperm(8, generator=torch.Generator().manual_seed(3))  # the pairing it drew
    assert target.shape == (8, 5) and torch.allclose(target.sum(1), torch.ones(8))
    mixed = labels != labels[partner]
    assert 0 < int(mixed.sum()) < 8  # this draw pairs some clips with their own class
    for i in range(8):
        j = int(partner[i])
        if mixed[i]:  # the product of the two clips in [0, 1] (white is transparent), 1/2 on each class
            assert torch.allclose(out[i], ((x[i] + 1) / 2 * (x[j] + 1) / 2) * 2 - 1, atol=1e-6)
            assert target[i, labels[i]] == 0.5 and target[i, labels[j]] == 0.5
        else:  # its partner has its own class: left alone, one-hot
            assert torch.equal(out[i], x[i]) and target[i, labels[i]] == 1.0
    kept, onehot = two_object_composites(x, labels, 5, 0.0)
    assert torch.equal(kept, x) and torch.equal(onehot.argmax(1), labels)


def test_a_judge_with_composite_mix_trains_on_two_object_clips_with_half_targets():
    import torch.nn.functional as F

    names = ["car_right", "rocket_up", "ship_left", "balloon_up"]
    rng = np.random.default_rng(0)
    x = torch.as_tensor(np.stack([render_clip(n, rng, (24, 32), 8) for n in names * 2])).permute(0, 4, 1, 2, 3)
    x = x.float() / 127.5 - 1
    batch = {"target": x, "label": torch.arange(4).repeat(2)}
    torch.manual_seed(0)
    net = VideoResNetClassifier(4, 8, (24, 32), widths=[8, 16, 32], dropout=0.0)
    seen = []
    net.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    judge = VideoClassifier(net, names, 8, (24, 32), composite_mix=1.0, role="judge")
    torch.manual_seed(5)
    loss = judge.training_step(batch, 0)
    torch.manual_seed(5)  # the same draw: the pairing and the picks
    want_x, want_t = two_object_composites(x, batch["label"], 4, 1.0)
    assert torch.allclose(seen[-1], want_x) and not torch.allclose(seen[-1], x)
    assert (want_t.max(1).values == 0.5).sum() >= 4  # most clips became two objects, 1/2 on each class
    net.train()
    assert torch.isclose(loss, F.cross_entropy(net(want_x), want_t), atol=1e-5)  # soft cross-entropy
    judge.validation_step(batch, 0)
    assert torch.equal(seen[-1], x)  # validation (and test) read single clips
    VideoClassifier(net, names, 8, (24, 32), role="judge").training_step(batch, 0)
    assert torch.equal(seen[-1], x)  # composite_mix 0: single clips
    for bad in (1.5, -0.1, "half", True):
        with pytest.raises(ValueError, match=r"judge: composite_mix=.* must be a number in \[0, 1\]"):
            VideoClassifier(net, names, 8, (24, 32), composite_mix=bad, role="judge")


def test_composite_weight_splits_a_layered_videos_classifier_term(tiny_classifier, tiny_vae):
    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=10,
              seed=0, layers=True)
    terms = {}
    for w in (0.0, 0.5, 1.0):
        m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), composite_weight=w, **kw).eval()
        with torch.no_grad():
            terms[w] = m.losses()["l_c3d"]
            whole = m.losses(video=m.synthesized())["l_c3d"]  # the composite alone
        assert m.settings()["composite_weight"] == w
    assert torch.allclose(terms[1.0], whole, atol=1e-5)  # 1: the composite only
    assert not torch.isclose(terms[0.0][0], whole[0], atol=1e-4)  # 0: the layers only
    assert torch.allclose(terms[0.5][0], (terms[0.0][0] + terms[1.0][0]) / 2, atol=1e-5)
    assert torch.allclose(terms[0.0][1], terms[1.0][1])  # a single-label video has no layers to weigh
    for bad in (-0.1, 1.5, float("nan"), True, "none"):
        with pytest.raises(ValueError, match=r"synthesis composite_weight=.* must be a number in \[0, 1\]"):
            PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), composite_weight=bad, **kw)


def test_spread_layers_moves_a_covered_layer_clear_and_leaves_a_clear_one():
    from videogen3d.data.transforms import multiply_blend, shift_layer, spread_layers

    layers = torch.ones(2, 3, 4, 12, 16)
    layers[0, :, :, 4:8, 4:10] = 0.2  # a car-like block, every frame
    layers[1, :, :, 5:7, 6:8] = 0.0   # a small object inside it: hidden in the composite
    moved, shifts = spread_layers(layers, (4, 6))
    ink = 1 - moved.mean(1)
    assert shifts[0] == (0, 0) and torch.equal(moved[0], layers[0])
    assert (ink[0] * ink[1]).sum() == 0  # apart
    assert ink[1].sum() == (1 - layers[1].mean(0)).sum()  # nothing pushed out of the frame
    dy, dx = shifts[1]
    assert abs(dy) == 3 or abs(dx) == 3  # the smallest shift that clears the block (rows 4-7, columns 4-9)
    assert abs(dy) + abs(dx) == 3
    assert torch.equal(moved[1], shift_layer(layers[1], dy, dx))
    # shift_layer: content moved, white comes in, what leaves the frame is gone
    one = torch.ones(1, 1, 4, 5)
    one[..., 1, 1] = 0.0
    assert shift_layer(one, 2, 3)[..., 3, 4] == 0 and shift_layer(one, 2, 3).sum() == 19
    assert torch.equal(shift_layer(one, 0, -2), torch.ones_like(one))  # moved out: all white
    # a layer that overlaps nothing stays where it is; a zero limit changes nothing
    clear = layers.clone()
    clear[1] = 1
    clear[1, :, :, 0:2, 12:14] = 0.0
    assert spread_layers(clear, (4, 6))[1] == [(0, 0), (0, 0)]
    assert spread_layers(layers, (0, 0))[1] == [(0, 0), (0, 0)]
    # moving toward the edge costs the ink that would leave: a big layer is only moved as far as it fits
    assert (multiply_blend(moved, 0) <= 1).all()


def test_to_side_moves_each_layer_until_its_ink_touches_the_edge_the_same_in_every_frame():
    from videogen3d.data.transforms import to_side

    layers = torch.ones(3, 3, 4, 12, 16)
    for t in range(4):  # an object rising: rows change per frame, columns 5-7 (faint haze below the floor at 12)
        layers[0, :, t, 8 - 2 * t:11 - 2 * t, 5:8] = 0.1
    layers[0, :, :, :, 12] = 0.99
    layers[1, :, 1, 2:4, 9:15] = 0.3  # ink in one frame only: it counts
    left, right = to_side(layers, "left"), to_side(layers, "right")
    total, haze = float((1 - layers[0].mean(0)).sum()), 0.01 * 12 * 4
    for moved, first_col, kept in ((left, 0, total), (right, 13, total - haze)):
        ink = 1 - moved.mean(1)  # (N, T, H, W)
        assert float(ink[0].sum()) == pytest.approx(kept, abs=1e-3)  # moved 8 right, the haze column leaves the frame
        cols = (ink[0].amax(dim=(0, 1)) > 0.05).nonzero().flatten()
        assert int(cols[0]) == first_col and int(cols[-1]) == first_col + 2  # the object, 3 columns wide, whole
        for t in range(4):  # the same shift in every frame: the rows are those of the frame it came from
            rows = (ink[0, t].amax(1) > 0.05).nonzero().flatten()
            assert rows.tolist() == list(range(8 - 2 * t, 11 - 2 * t))
    assert int((1 - left[1].mean(0)).amax(dim=(0, 1)).gt(0.05).nonzero()[0]) == 0
    assert int((1 - right[1].mean(0)).amax(dim=(0, 1)).gt(0.05).nonzero()[-1]) == 15
    assert torch.equal(left[2], layers[2]) and torch.equal(right[2], layers[2])  # nothing to move
    with pytest.raises(ValueError, match="side 'top'"):
        to_side(layers, "top")


def test_layout_places_a_multi_label_videos_layers_apart_only_in_the_output(tiny_classifier, tiny_vae):
    from videogen3d.data.transforms import multiply_blend, shift_layer

    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=10,
              seed=0, layers=True)
    plain = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw).eval()
    laid = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), layout=0.5, **kw).eval()
    assert torch.equal(plain.code, laid.code)
    with torch.no_grad():
        assert torch.equal(plain.losses()["l_c3d"], laid.losses()["l_c3d"])  # the optimisation does not see it
    assert torch.equal(plain.synthesized()[1], laid.synthesized()[1])  # a single-label video is untouched
    assert laid.settings()["layout"] == 0.5 and plain.settings()["layout"] is None
    # the layers as a trained decoder draws them: both objects in the middle, the small one covered
    layers = torch.ones(2, 2, 3, 8, 24, 32)
    layers[:, 0, :, :, 9:15, 10:22] = 0.3
    layers[0, 1, :, :, 10:14, 14:17] = 0.0
    laid._layers = lambda: layers.clone()
    out = laid.synthesized()
    dy, dx = laid.layout_shifts[0][1]
    assert list(laid.layout_shifts) == [0] and laid.layout_shifts[0][0] == (0, 0)
    assert (dy, dx) != (0, 0) and abs(dy) <= 12 and abs(dx) <= 16  # half of 24 x 32
    moved = shift_layer(layers[0, 1], dy, dx)
    assert torch.allclose(out[0], multiply_blend(torch.stack([layers[0, 0], moved]), 0))
    ink = 1 - torch.stack([layers[0, 0], moved]).mean(1)
    assert (ink[0] * ink[1]).sum() == 0 and ink[1].sum() == (1 - layers[0, 1].mean(0)).sum()  # apart, all kept
    assert torch.equal(out[1], multiply_blend(layers[1], 0))  # the single-label video: its one layer as it was
    for bad in (-0.1, 1.5, float("nan"), True, "wide"):
        with pytest.raises(ValueError, match=r"synthesis layout=.* must be a number in \[0, 1\]"):
            PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), layout=bad, **kw)


def test_matte_whitens_only_a_layers_faint_ink():
    from videogen3d.data.transforms import matte_layers, place_layers

    layers = torch.ones(2, 3, 2, 6, 8)
    layers[0, :, :, 1:3, 1:4] = torch.tensor([0.2, 0.5, 0.8]).view(3, 1, 1, 1)  # an object: ink 0.5
    layers[0, :, :, 4, 5] = 0.97                                             # haze: ink 0.03
    layers[1, 0, :, 0, 0] = 0.91                                             # a faint ghost in one channel: ink 0.03
    layers[1, :, :, 5, 7] = 0.9                                              # ink 0.1
    out = matte_layers(layers, 0.05)
    assert torch.equal(out[0, :, :, 1:3, 1:4], layers[0, :, :, 1:3, 1:4])  # the object keeps its colours
    assert (out[0, :, :, 4, 5] == 1).all() and (out[1, :, :, 0, 0] == 1).all()  # the faint ink is white, every channel
    assert torch.equal(out[1, :, :, 5, 7], layers[1, :, :, 5, 7])  # above the threshold: kept
    assert torch.equal(matte_layers(layers, 0.0), layers)
    # the channel dimension is an argument: (C, T, H, W) layers stacked on dim 0
    assert torch.equal(matte_layers(layers.transpose(0, 1), 0.05, dim=0), out.transpose(0, 1))
    # place_layers: the matte, then the layout (none here), as the output shows a video's layers
    placed, shifts = place_layers(layers, 0.05, (0, 0))
    assert torch.equal(placed, out) and shifts == [(0, 0), (0, 0)]
    assert torch.equal(place_layers(layers, 0.0, (0, 0))[0], layers)


def test_matte_cleans_a_multi_label_videos_layers_before_the_layout_and_the_blend(tiny_classifier, tiny_vae):
    """With matte, each layer of a multi-label video loses its faint ink before it is placed and blended: a ghost
    of one layer no longer darkens the other's object. Single-label videos and the optimisation are unchanged."""
    from videogen3d.data.transforms import matte_layers, multiply_blend, shift_layer
    from videogen3d.synthesis.methods import resolve_method

    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=10,
              seed=0, layers=True, layout=0.5)
    plain = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), **kw).eval()
    matted = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), matte=0.05, **kw).eval()
    with torch.no_grad():
        assert torch.equal(plain.losses()["l_c3d"], matted.losses()["l_c3d"])  # the optimisation does not see it
    assert torch.equal(plain.synthesized()[1], matted.synthesized()[1])  # a single-label video is untouched
    assert matted.settings()["matte"] == 0.05 and plain.settings()["matte"] is None
    # two objects apart, each layer with a faint ghost where the other object is
    layers = torch.ones(2, 2, 3, 8, 24, 32)
    layers[0, 0, :, :, 2:8, 2:12] = 0.3    # object of layer 0, top left
    layers[0, 0, :, :, 14:20, 18:28] = 0.97  # layer 0's ghost over layer 1's object
    layers[0, 1, :, :, 14:20, 18:28] = 0.4  # object of layer 1, bottom right
    layers[0, 1, :, :, 2:8, 2:12] = 0.96  # layer 1's ghost over layer 0's object
    layers[1, 0, :, :, 5:9, 5:9] = 0.97   # the single-label video's faint ink stays
    for m in (plain, matted):
        m._layers = lambda: layers.clone()
    out, before = matted.synthesized(), plain.synthesized()
    assert matted.layout_shifts[0] == [(0, 0), (0, 0)]  # once matted, they overlap nothing: left in place
    assert torch.allclose(out[0, :, :, 14:20, 18:28], torch.full_like(out[0, :, :, 14:20, 18:28], -0.2))  # 0.4 as drawn
    assert torch.allclose(out[0], multiply_blend(matte_layers(layers[0], 0.05), 0))
    assert (out[0] == 1).float().mean() > (before[0] == 1).float().mean()  # whiter around the objects
    assert torch.equal(out[1], multiply_blend(layers[1], 0)) and torch.equal(before[1], out[1])
    dy, dx = plain.layout_shifts[0][1]  # without the matte the ghosts count as ink: the layer is moved
    assert torch.allclose(before[0], multiply_blend(torch.stack([layers[0, 0], shift_layer(layers[0, 1], dy, dx)]), 0))
    # the ablation flag switches it off and nothing else
    defs = {"best": {"latent": "vae", "layers": True, "layout": 0.4, "matte": 0.05},
            "abl": {"base": "best", "ablate": ["matte"]}}
    best, abl = resolve_method(defs, "best"), resolve_method(defs, "abl")
    assert abl["matte"] == 0.0 and {k for k in best if best.get(k) != abl.get(k)} == {"matte", "ablate"}
    for bad in (-0.1, 1.5, float("nan"), True, "faint"):
        with pytest.raises(ValueError, match=r"synthesis matte=.* must be a number in \[0, 1\]"):
            PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), matte=bad, **kw)


def test_a_pair_guide_reads_the_composite_of_a_layered_video_and_nothing_else(tiny_classifier, tiny_vae):
    """pair_classifier: the composite share of a multi-label video's term is the two-object C3D's error toward
    both labels; the layers keep the ensemble's; single-label videos do not see it (same steps, same bytes)."""
    import copy

    from videogen3d.losses.synthesis import target_error

    targets, _ = parse_targets(["car_right+rocket_up", "ship_left"], CLASS_NAMES)
    pair = copy.deepcopy(tiny_classifier.net)
    with torch.no_grad():  # another network than the ensemble's, so that its reading differs
        for p in pair.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) * 0.5)
    kw = dict(method="comparison", eta_norm=0.0, generator=tiny_vae, optimizer="adam", lr=0.1, iterations=6,
              seed=0, layers=True)
    terms, made = {}, {}
    for name, guide, w in (("layers", None, 0.0), ("ensemble", None, 0.5), ("pair", pair, 0.5)):
        m = PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), composite_weight=w, pair_classifier=guide, **kw)
        m.eval()
        with torch.no_grad():
            terms[name] = m.losses()["l_c3d"]
            if name == "pair":
                read = target_error(pair(m.current_video()), targets)
        assert m.settings()["pair_classifier"] is (True if guide is not None else None)
        trainer = __import__("pytorch_lightning").Trainer(max_steps=6, max_epochs=1, logger=False, enable_checkpointing=False,
                                                          enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(m)
        made[name] = m.synthesized()
        if guide is not None:  # frozen, kept in eval mode through fit()
            assert not m.pair_classifier.training and all(not p.requires_grad for p in m.pair_classifier.parameters())
    assert torch.allclose(terms["pair"][0], (terms["layers"][0] + read[0]) / 2, atol=1e-5)  # half the two-object C3D
    assert not torch.isclose(terms["pair"][0], terms["ensemble"][0], atol=1e-4)  # not the ensemble's reading
    assert torch.equal(terms["pair"][1], terms["layers"][1])  # the single-label video's term is the ensemble's
    assert torch.equal(made["pair"][1], made["layers"][1])  # ... and its bytes after the steps
    assert not torch.equal(made["pair"][0], made["layers"][0])  # the multi-label video moved with the guide
    for bad in ({"layers": False}, {"composite_weight": 0.0}):  # a guide with no composite share to read: refused
        with pytest.raises(ValueError, match=r"pair_guide reads the composite .* \(got generator True, layers="):
            PixelSynthesis(tiny_classifier.net, targets, 8, (24, 32), pair_classifier=pair, **(kw | bad))
