"""Held-out readers (videogen3d.synthesis.readers): architectures, the reading of a synthesis record, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from _synth_helpers import save_untrained_c3d
from videogen3d.data.moving_objects import CLASS_NAMES, render_bank
from videogen3d.losses.synthesis import parse_targets
from videogen3d.synthesis import readers
from videogen3d.synthesis.outputs import write_synthesis

K = len(CLASS_NAMES)


@pytest.mark.parametrize("net", [readers.FramesReader, readers.FactorisedReader, readers.Conv3DReader,
                                 readers.StillFramesReader])
def test_reader_architectures_map_clips_to_class_logits_and_differ_from_the_pipelines(net):
    m = net(K, 8, (16, 16))
    out = m(torch.rand(3, 3, 8, 16, 16) * 2 - 1)
    assert out.shape == (3, K) and torch.isfinite(out).all()
    m.eval()
    torch.testing.assert_close(m.head(m.features(torch.zeros(2, 3, 8, 16, 16))), m(torch.zeros(2, 3, 8, 16, 16)))
    kinds = {type(mod) for mod in m.modules()}
    assert nn.BatchNorm3d not in kinds  # not the C3D's or the judge's normalisation


def test_still_frames_reader_is_blind_to_frame_order_and_the_clip_readers_are_not():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 8, 16, 16) * 2 - 1
    still = readers.StillFramesReader(K, 8, (16, 16)).eval()
    shuffled = x[:, :, torch.randperm(8)]
    torch.testing.assert_close(still(x.flip(2)), still(x))  # played backwards
    torch.testing.assert_close(still(shuffled), still(x))
    # its logits are the mean of each frame's own logits (average consensus), a frame read as a one-frame clip
    per_frame = torch.stack([still.head(still.body(x[:, :, t])) for t in range(8)]).mean(0)
    torch.testing.assert_close(still(x), per_frame)
    for net in (readers.FramesReader, readers.FactorisedReader, readers.Conv3DReader):
        m = net(K, 8, (16, 16)).eval()
        assert not torch.allclose(m(x.flip(2)), m(x), atol=1e-4), net.__name__


class _Fixed(nn.Module):
    """A reader that answers preset logits in order (``features`` + ``head`` and clip_len / frame_size as a real
    reader's)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits, self.i, self.clip_len, self.frame_size = logits, 0, 4, [8, 8]
        self.head = nn.Identity()
        self.scale = nn.Parameter(torch.ones(()))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.logits[self.i:self.i + len(x)] * self.scale
        self.i += len(x)
        return out


def _record(specs, per_target=1, geometry=(4, 8, 8)):
    t, names = parse_targets(specs, list(CLASS_NAMES), per_target)
    return {"videos": torch.zeros(len(t), 3, *geometry), "targets": t, "names": names, "class_names": list(CLASS_NAMES)}


def test_read_videos_counts_hits_misses_and_multi_label_top_k():
    c = CLASS_NAMES.index
    record = _record(["car_right", "rocket_up", "airplane_up", "car_right+rocket_up", "car_right+rocket_up"])
    logits = torch.full((5, K), -5.0)
    logits[0, c("car_right")] = 5                                          # hit
    logits[1, c("rocket_up")] = 5                                          # hit
    logits[2, c("balloon_up")] = 5                                         # missed: airplane_up read as balloon_up
    logits[3, c("car_right")], logits[3, c("rocket_up")] = 4, 3            # both in the top 2
    logits[4, c("car_right")], logits[4, c("ship_right")] = 4, 3           # rocket_up not in the top 2
    r = readers.read_videos(_Fixed(logits), record)
    assert r["single_label_videos"] == 3 and r["accuracy"] == pytest.approx(2 / 3)
    assert r["missed"] == {"airplane_up": {"balloon_up": 1}}
    p = logits[:3].softmax(1)
    assert r["p_target"] == pytest.approx(float((p[0, c("car_right")] + p[1, c("rocket_up")] + p[2, c("airplane_up")]) / 3))
    assert r["multi_label_videos"] == 2 and r["multi_label_top_k"] == pytest.approx(0.5)
    # each video's reading, in the record's order: which video missed, and what the reader saw in it
    v = r["videos"]
    assert [x["name"] for x in v] == record["names"] and [x["hit"] for x in v] == [True, True, False, True, False]
    assert v[2]["labels"] == ["airplane_up"] and v[2]["top"][0][0] == "balloon_up"
    assert v[2]["top"][0][1] == pytest.approx(float(p[2, c("balloon_up")]), abs=1e-4)
    assert v[4]["labels"] == ["car_right", "rocket_up"] and [t[0] for t in v[4]["top"]] == ["car_right", "ship_right"]
    assert all(len(x["top"]) == 2 for x in v)


def test_read_real_pairs_scores_composites_of_every_class_pair():
    pairs = [(a, b) for a in range(K) for b in range(a + 1, K)]

    class Oracle(nn.Module):  # answers the pair of each call (pairs in the order the function visits them)
        def __init__(self, right: bool):
            super().__init__()
            self.right, self.calls = right, []

            self.head = nn.Identity()
            self.scale = nn.Parameter(torch.ones(()))

        def features(self, x):
            a, b = pairs[len(self.calls)]
            self.calls.append(len(x))
            logits = torch.zeros(len(x), K)
            logits[:, a] = logits[:, b if self.right else (b + 1) % K if (b + 1) % K != a else (b + 2) % K] = 5
            return logits * self.scale

    right, wrong = Oracle(True), Oracle(False)
    assert readers.read_real_pairs(right, (16, 16), 4, clips_per_class=2) == 1.0
    assert len(right.calls) == len(pairs) == 55 and all(n == 2 for n in right.calls)
    assert readers.read_real_pairs(wrong, (16, 16), 4, clips_per_class=2) == 0.0


class _InkReader(nn.Module):
    """Logits from where the ink is: class ``a`` 10x the ink of the left half, ``b`` of the right half, every
    other class 0.5 (so a blank half leaves its class out of the top 2)."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__()
        self.a, self.b, self.head = a, b, nn.Identity()
        self.scale = nn.Parameter(torch.ones(()))  # judge_clips finds the device from a parameter

    def features(self, x: torch.Tensor) -> torch.Tensor:
        ink = (1 - x.add(1).div(2)).mean(dim=(1, 2, 3))  # (N, W)
        out = torch.full((len(x), K), 0.5)
        half = x.shape[-1] // 2
        out[:, self.a], out[:, self.b] = 10 * ink[:, :half].mean(1), 10 * ink[:, half:].mean(1)
        return out


def test_read_object_pairs_blends_every_layer_of_each_source_pairing():
    a, b = CLASS_NAMES.index("car_right"), CLASS_NAMES.index("rocket_up")
    white = torch.ones(3, 4, 8, 8)
    left, right = white.clone(), white.clone()
    left[..., :3], right[..., 5:] = -1, -1  # a dark object on the left (class a) or on the right (class b)
    sources = {"good": {a: torch.stack([left, left]), b: torch.stack([right, right, right])},
               "blank": {a: white[None]}}  # no layer of class b: pairings that need one are left out
    r = readers.read_object_pairs(_InkReader(a, b), sources, a, b)
    assert [(x["a"], x["b"], x["composites"], x["both_top2"]) for x in r] == [("good", "good", 6, 6), ("blank", "good", 3, 0)]
    assert r[0]["p_a"] > 0.3 and r[1]["p_a"] < 0.05 and r[1]["p_b"] > 0.3  # the blank car is what fails


def test_clip_vae_reconstructs_from_the_code_mean():
    """``ClipVAE.reconstruct`` (the readers' ``objects --vae`` source, the VAE task's val/test error): the
    posterior mean decoded, in [-1, 1], the same every call, unlike ``forward``'s sampled code."""
    from videogen3d.models.clip_vae import ClipVAE

    torch.manual_seed(0)
    vae = ClipVAE(4, (16, 16), latent_dim=4, widths=[8, 8], out_conv=False).eval()
    clips = torch.rand(3, 3, 4, 16, 16) * 2 - 1
    with torch.no_grad():
        rec = vae.reconstruct(clips)
        assert rec.shape == clips.shape and rec.min() >= -1 and rec.max() <= 1
        torch.testing.assert_close(rec, vae.decode(vae.encode(clips)[0]))
        torch.testing.assert_close(vae.reconstruct(clips), rec)
        assert not torch.allclose(vae(clips)[0], rec)  # forward samples a code


def test_read_videos_refuses_another_geometry_or_class_list():
    reader = _Fixed(torch.zeros(2, K))
    with pytest.raises(ValueError, match=r"check2 reads 4 frames of \[8, 8\].*6 frames of \[8, 8\]"):
        readers.read_videos(reader, _record(["car_right"], geometry=(6, 8, 8)), "check2")
    bad = _record(["car_right"]) | {"class_names": list(CLASS_NAMES)[::-1]}
    with pytest.raises(ValueError, match="made for classes"):
        readers.read_videos(reader, bad, "check1")


def test_cli_trains_readers_that_learn_and_scores_a_videos_file(tmp_path, capsys):
    out = tmp_path / "readers"
    assert readers.main(["train", "--out", str(out), "--readers", "check1,check3", "--frame-size", "16", "16",
                         "--clip-len", "4", "--clips-per-class", "24", "--epochs", "10"]) == 0
    printed = capsys.readouterr().out
    accs = {line.split(":")[0]: float(line.split("test accuracy ")[1].split()[0].rstrip(",")) for line in printed.splitlines()
            if "test accuracy" in line}
    assert set(accs) == {"check1", "check3"} and (out / "check1.pt").is_file() and not (out / "check2.pt").exists()
    assert accs["check1"] > 0.4  # it learnt (chance is 1/11; 0.69 measured at this size)
    # the two-object reader also reports its reading of real two-object clips (the reference of its multi figure)
    assert "real two-object clips" in next(line for line in printed.splitlines() if line.startswith("check3"))
    assert "real two-object" not in next(line for line in printed.splitlines() if line.startswith("check1"))
    blob = torch.load(out / "check3.pt", weights_only=True)
    assert 0.0 <= blob["real_pairs_top2"] <= 1.0 and blob["clip_len"] == 4 and blob["frame_size"] == [16, 16]
    # a videos.pt of real clips: the trained reader reads them as it read its test clips (above chance)
    bank = render_bank((16, 16), 4, 2, seed=8)
    clips = torch.as_tensor(bank.target).float().div(127.5).sub(1).reshape(-1, 4, 16, 16, 3).permute(0, 4, 1, 2, 3)
    targets = torch.nn.functional.one_hot(torch.as_tensor(bank.labels), K).float()
    write_synthesis(tmp_path / "real", clips, [f"clip{i}" for i in range(len(clips))], targets, {}, CLASS_NAMES, mp4=False)
    assert readers.main(["score", "--readers", str(out), "--json", str(tmp_path / "r.json"),
                         str(tmp_path / "real" / "videos.pt")]) == 0
    readings = json.loads((tmp_path / "r.json").read_text())[str(tmp_path / "real" / "videos.pt")]
    assert set(readings) == {"check1", "check3"} and readings["check1"]["single_label_videos"] == 2 * K
    assert readings["check1"]["accuracy"] > 0.3
    per_video = readings["check1"]["videos"]  # each clip's reading, named as the file names it
    assert [v["name"] for v in per_video] == [f"clip{i}" for i in range(2 * K)]
    assert sum(v["hit"] for v in per_video) / len(per_video) == pytest.approx(readings["check1"]["accuracy"])
    assert "check1:" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="readers train --out"):
        readers.main(["score", "--readers", str(tmp_path / "none"), str(tmp_path / "real" / "videos.pt")])
    # objects: the two-object reader (check3, not check1) reads every pairing of real clips and the file's videos
    assert readers.main(["objects", "--readers", str(out), "--pair", "car_right+rocket_up",
                         str(tmp_path / "real" / "videos.pt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["check3"] * 4
    assert "car_right from real x rocket_up from real: both in top 2" in lines[0] and lines[0].split("/")[1].startswith("81,")
    assert "car_right from synth x rocket_up from synth" in lines[3] and lines[3].split("/")[1].startswith("4,")
    # --edges: the rockets of the real clips also at the left and at the right edge; --judge: a run's judge reads too
    judge = save_untrained_c3d(tmp_path / "run" / "judge.ckpt", clip_len=4, frame_size=[16, 16], pools=2)
    assert readers.main(["objects", "--readers", str(out), "--pair", "car_right+rocket_up", "--edges", "--judge",
                         str(judge), str(tmp_path / "real" / "videos.pt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["check3"] * 8 + ["judge"] * 8
    pairs = [line.split(": ")[1].split(": both")[0] for line in lines[:8]]
    assert pairs == [f"car_right from {a} x rocket_up from {b}" for a in ("real", "synth")
                     for b in ("real", "synth", "real_left", "real_right")]
    assert all(line.split("/")[1].startswith("81,") for line in lines if "from real x rocket_up from real" in line)
    other = save_untrained_c3d(tmp_path / "other" / "judge.ckpt", clip_len=8, frame_size=[16, 16], pools=2)
    with pytest.raises(Exception, match="judge.*other"):  # a judge of other clips is refused, naming its file
        readers.main(["objects", "--readers", str(out), "--pair", "car_right+rocket_up", "--judge", str(other),
                      str(tmp_path / "real" / "videos.pt")])
    with pytest.raises(SystemExit):
        readers.main(["objects", "--readers", str(out), "--pair", "car_right+car_right", str(tmp_path / "real" / "videos.pt")])
    with pytest.raises(FileNotFoundError, match="two-object reader"):
        readers.main(["objects", "--readers", str(tmp_path / "none"), "--pair", "car_right+rocket_up",
                      str(tmp_path / "real" / "videos.pt")])
    with pytest.raises(SystemExit):
        readers.main(["train", "--out", str(out), "--readers", "check9"])


def test_module_run_names_a_missing_readers_folder_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "videogen3d.synthesis.readers", "score", "--readers",
                           str(tmp_path / "none"), str(tmp_path / "videos.pt")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(f"make them with: python -m videogen3d.synthesis.readers "
                                                        f"train --out {tmp_path / 'none'}")


@pytest.mark.parametrize("opt", ["--epochs", "--clips-per-class"])
def test_train_refuses_a_count_below_one(tmp_path, capsys, opt):
    with pytest.raises(SystemExit) as exc:
        readers.main(["train", "--out", str(tmp_path / "r"), opt, "0"])
    assert exc.value.code == 2 and f"{opt} 0: expected a whole number >= 1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
