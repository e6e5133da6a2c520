"""Targets, objectives (seed 003 eqs. 6, 10) and the Fréchet distance of the judge."""

import pytest
import torch

from videogen3d.data.moving_objects import CLASS_NAMES
from videogen3d.metrics.frechet import FeatureFrechetDistance, frechet_distance
from videogen3d.losses.synthesis import norm_error, parse_target, parse_targets, primary_labels, target_error


def test_single_and_multi_label_targets():
    y = parse_target("rocket_up", CLASS_NAMES)
    assert y[CLASS_NAMES.index("rocket_up")] == 1 and y.sum() == 1
    m = parse_target("car_right+rocket_up", CLASS_NAMES)
    assert m[0] == m[2] == 0.5
    w = parse_target("car_right:3+rocket_up:1", CLASS_NAMES)
    assert torch.isclose(w[0], torch.tensor(0.75))
    targets, names = parse_targets(["all"], CLASS_NAMES, per_target=2)
    assert targets.shape == (22, 11) and names[1] == "car_right#1"
    labels, single = primary_labels(torch.stack([y, m]))
    assert labels[0] == 2 and single.tolist() == [True, False]


def test_unknown_label_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown target label 'car_up'.*valid labels: car_right, car_left.*balloon_up"):
        parse_target("car_up", CLASS_NAMES)


def test_target_and_norm_error():
    logits = torch.tensor([[10.0, 0.0], [0.0, 10.0]])
    ce = target_error(logits, torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    assert ce[0] < 1e-3 and ce[1] > 9
    assert torch.allclose(norm_error(torch.full((2, 3, 4, 5, 6), 0.5)), torch.tensor([0.25, 0.25]))


def test_frechet_closed_form_and_metric():
    mu1, mu2 = torch.zeros(3), torch.tensor([1.0, 2.0, 0.0])
    s1, s2 = torch.diag(torch.tensor([1.0, 4.0, 9.0])), torch.diag(torch.tensor([4.0, 4.0, 1.0]))
    # diagonal covariances: ||mu1-mu2||^2 + sum (sqrt(a) - sqrt(b))^2 = 5 + (1 + 0 + 4)
    assert torch.isclose(frechet_distance(mu1, s1, mu2, s2), torch.tensor(10.0, dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 4, generator=g)
    fd = FeatureFrechetDistance(4)
    fd.update(a, real=True)
    fd.update(a.clone(), real=False)
    assert fd.compute() < 1e-4
    fd.update(torch.randn(4000, 4, generator=g) + 3, real=False)  # the fake set now mixes two clusters
    assert fd.compute() > 1.0
    with pytest.raises(ValueError, match="at least 2 real"):
        FeatureFrechetDistance(4).compute()


class _MarkJudge(torch.nn.Module):
    """A judge that reads the class off pixel (0, 0, 0, k): features = that row, head = x10."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(10.0))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, 0, 0, : len(CLASS_NAMES)]

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.scale * f


def test_evaluate_videos_counts_accuracy_judge_probability_and_background():
    from videogen3d.synthesis.judge import evaluate_videos

    targets, names = parse_targets(["car_right", "rocket_up", "ship_left", "car_right+rocket_up"], CLASS_NAMES)
    videos = torch.ones(4, 3, 2, 4, 16)  # white
    marks = [0, 2, 5, 0]  # judged: car_right (right), rocket_up (right), airplane_down (wrong), car_right
    for i, k in enumerate(marks):
        videos[i, 0, 0, 0, :11] = -1
        videos[i, 0, 0, 0, k] = 1
    videos[2] = videos[2] * 0  # grey: background deviation 0.5 (its mark row is zeroed too)
    videos[2, 0, 0, 0, 5] = 1
    videos[3, 0, 0, 0, 10] = 0  # the multi-label video's runner-up: balloon_up

    record = {"videos": videos, "targets": targets, "names": names, "class_names": list(CLASS_NAMES),
              "settings": {"method": "ours"}}
    out = evaluate_videos(_MarkJudge(), record, torch.randn(8, 11))
    assert out["accuracy"] == pytest.approx(2 / 3) and out["single_label_videos"] == 3
    p_hit = 1 / (1 + 10 * torch.exp(torch.tensor(-20.0)))  # softmax of 10 vs ten -10s
    p_grey = torch.exp(torch.tensor(0.0)) / (torch.exp(torch.tensor(10.0)) + 10)  # ship_left's logit 0 vs one 10
    assert out["judge_p_target"] == pytest.approx(float((2 * p_hit + p_grey) / 3), rel=1e-4)
    assert out["background_deviation"] == pytest.approx((0 + 0 + 0.5 + 0) / 4)
    assert out["multi_label_top_k"] == 0.0  # judge top-2 is {car_right, balloon_up}, not {car_right, rocket_up}
    assert [j["judged"] for j in out["judged"]] == ["car_right", "rocket_up", "airplane_down", "car_right"]


class _DarkJudge(_MarkJudge):
    """A judge whose logit for class k is how dark pixel (0, 0, 0, k) is: -10 x its value in [-1, 1]."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return -x[:, 0, 0, 0, : len(CLASS_NAMES)]


def _marked(*dark: tuple[int, float]) -> torch.Tensor:
    """A white clip with pixel (0, 0, 0, k) set to value v for each (k, v)."""
    clip = torch.ones(3, 2, 4, 16)
    for k, v in dark:
        clip[0, 0, 0, k] = v
    return clip


def test_real_multi_reference_scores_composites_of_real_clips_like_synthesized_ones():
    from videogen3d.synthesis.judge import real_multi_reference

    car, rocket = CLASS_NAMES.index("car_right"), CLASS_NAMES.index("rocket_up")
    ship = CLASS_NAMES.index("ship_left")
    # car clip 0: its own mark; car clip 1: also a darker airplane_down mark; rocket: a grey mark (0 -> 0.5 in [0, 1])
    by_class = {car: [_marked((car, -1.0)), _marked((car, -1.0), (5, -1.0))], rocket: [_marked((rocket, 0.0))],
                ship: [_marked((ship, -1.0))]}
    targets, _ = parse_targets(["car_right", "car_right+rocket_up", "car_right+rocket_up"], CLASS_NAMES)
    out = real_multi_reference(_DarkJudge(), by_class, targets, list(CLASS_NAMES))
    # the composites: car0 x rocket (top 2 {car, rocket}: hit), car1 x rocket (top 2 {car, airplane_down}: miss)
    assert out == {"multi_label_top_k": 0.5, "multi_clips": 2, "multi_by_target": {"car_right+rocket_up": 0.5}}
    assert real_multi_reference(_DarkJudge(), by_class, targets[:1], list(CLASS_NAMES)) is None  # no multi row
    limited = real_multi_reference(_DarkJudge(), by_class, targets, list(CLASS_NAMES), per_target=1)
    assert limited["multi_clips"] == 1 and limited["multi_label_top_k"] == 1.0
    with pytest.raises(ValueError, match=r"no clip of \['balloon_up'\]"):
        real_multi_reference(_DarkJudge(), by_class, parse_targets(["car_right+balloon_up"], CLASS_NAMES)[0],
                             list(CLASS_NAMES))


def test_real_reference_keeps_clips_by_class_and_the_true_class_probability():
    from videogen3d.synthesis.judge import real_reference

    car, ship = CLASS_NAMES.index("car_right"), CLASS_NAMES.index("ship_left")
    batch = {"target": torch.stack([_marked((car, -1.0)), _marked((ship, -1.0)), _marked((car, -1.0))]),
             "label": torch.tensor([car, ship, ship])}  # the third clip is labelled ship but reads car
    ref = real_reference(_DarkJudge(), [batch], lambda b: b)
    assert ref["accuracy"] == pytest.approx(2 / 3) and ref["clips"] == 3
    p_hit = float(1 / (1 + 10 * torch.exp(torch.tensor(-20.0))))
    p_miss = float(torch.exp(torch.tensor(-10.0)) / (torch.exp(torch.tensor(10.0)) + 10 * torch.exp(torch.tensor(-10.0))))
    assert ref["judge_p_target"] == pytest.approx((2 * p_hit + p_miss) / 3, rel=1e-4)
    assert [len(ref["by_class"][c]) for c in (car, ship)] == [1, 2]


def test_table_rows_keep_the_seed_order_and_never_drop_a_method():
    from videogen3d.synthesis.table import markdown_table, table_rows

    def method(name, acc):
        return {"method": name, "iterations": 3, "optimizer": "gd", "eta_c3d": 10.0, "eta_tempcae": None,
                "eta_norm": 5.0, "accuracy": acc, "background_deviation": 0.5, "frechet": None, "videos": 2}

    evaluation = {"methods": {"extra": method("extra", 0.5), "comparison": method("comparison", 0.25),
                              "ours": method("ours", 1.0) | {"multi_label_top_k": 2 / 3}}, "scale": "tiny"}
    rows = table_rows(evaluation)
    assert [r["method"] for r in rows] == ["ours", "comparison", "extra"]
    md = markdown_table(rows, evaluation)
    assert "| extra | 3 | 10 | none | 5 | 50.0 % | n/a | n/a | 0.500 | n/a | 2 |" in md
    assert "| Ours (C3D + tempCAE, eq. 8) | 3 | 10 | none | 5 | 100.0 % | n/a | 66.7 % | 0.500 |" in md
    assert "Real held-out clips" not in md  # no reference measured: no reference row
    evaluation["real"] = {"accuracy": 0.9, "judge_p_target": 0.85, "clips": 20, "background_deviation": 0.0,
                          "multi_label_top_k": 0.25, "multi_clips": 4, "multi_by_target": {"car_right+rocket_up": 0.25}}
    md = markdown_table(table_rows(evaluation), evaluation)
    assert "| Real held-out clips (reference) | – | – | – | – | 90.0 % | 0.850 | 25.0 % (4 composites) | 0.000 | n/a | 20 |" in md
    assert "both classes in the judge's top 2 for 25.0 % (car_right+rocket_up 25.0 %)" in md
    # a latent method's note names its generator settings, the code sphere only where it was on
    latent = {"generator": "ClipVAEModule", "vae": {"latent_dim": 32, "beta": 0.002}, "eta_code": 0.01, "code_init": 1.0}
    evaluation["methods"] |= {"free": method("free", 0.5) | latent,
                              "sphere": method("sphere", 0.5) | latent | {"code_sphere": True}}
    md = markdown_table(table_rows(evaluation), evaluation)
    assert ("free: synthesised through the code of ClipVAEModule (latent 32, beta 0.002), code prior 0.01, start code "
            "std 1.0.") in md
    assert "sphere: synthesised through the code of ClipVAEModule (latent 32, beta 0.002), code prior 0.01, start " \
           "code std 1.0, each code kept on the sphere |u| = sqrt(d)." in md
    # the decoder's network is named where it was recorded (the sprite-and-path clip VAE since the thirty-first session)
    evaluation["methods"] |= {"sprite": method("sprite", 0.5) | latent | {"vae": {"net": "SpriteClipVAE", "latent_dim": 32,
                                                                                   "beta": 0.002}}}
    md = markdown_table(table_rows(evaluation), evaluation)
    assert "sprite: synthesised through the code of ClipVAEModule (SpriteClipVAE, latent 32, beta 0.002)" in md
    # layers: the matte and the layout are named where they were on, in the order they are applied
    layered = latent | {"layers": 2, "composite_weight": 0.0, "layout": 0.4}
    evaluation["methods"] |= {"laid": method("laid", 0.5) | layered,
                              "matted": method("matted", 0.5) | layered | {"matte": 0.05}}
    md = markdown_table(table_rows(evaluation), evaluation)
    laid, matted = (next(line for line in md.splitlines() if line.startswith(f"{m}: ")) for m in ("laid", "matted"))
    assert "made white" not in laid and laid.endswith(", the layers then placed apart (shifts up to 40% of the frame).")
    assert matted.endswith(", each layer's ink below 0.05 made white, the layers then placed apart (shifts up to 40% of "
                           "the frame).")
    evaluation["methods"] |= {"inked": method("inked", 0.5) | layered | {"matte": 0.05, "eta_ink": 3.0}}
    md = markdown_table(table_rows(evaluation), evaluation)
    inked = next(line for line in md.splitlines() if line.startswith("inked: "))
    assert ", each layer held near its label's ink per frame in the real clips (ink prior 3), each layer's ink below " \
           "0.05 made white" in inked and "ink prior" not in matted
