"""``logger=tensorboard``: the comparison strip and video, and the HParams tab, read back from the event file."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from videogen3d.train import train

QUICK = ["logger=tensorboard", "trainer.max_epochs=2", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
         "callbacks.lr_monitor=null", "num_samples=2"]


@pytest.fixture(scope="module")
def events(tmp_path_factory, shared_data_dir):
    from hydra.core.global_hydra import GlobalHydra

    from videogen3d.utils.compose import compose_train

    out = tmp_path_factory.mktemp("tb")
    try:
        results = train(compose_train(QUICK, out, shared_data_dir))
    finally:
        GlobalHydra.instance().clear()
    # the final metrics come after fit closed the writer, so they land in a second event file of the
    # same folder: TensorBoard reads a folder's files as one run, and so does the accumulator
    assert {p.parent for p in (out / "tensorboard").rglob("events.out.tfevents.*")} == {out / "tensorboard"}
    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    acc.Reload()
    return acc, results, out


def test_the_comparison_strip_and_video_reach_tensorboard_each_epoch(events):
    acc, results, out = events
    assert {"samples/strip", "samples/video"} <= set(acc.Tags()["images"])
    strips, videos = acc.Images("samples/strip"), acc.Images("samples/video")
    assert [e.step for e in videos] == [e.step for e in strips] and len(videos) == 2  # one per epoch
    with Image.open(out / "media" / "epoch001.png") as png:
        strip = Image.open(io.BytesIO(strips[-1].encoded_image_string))
        assert strip.size == png.size  # the PNG strip the callback wrote
    gif = Image.open(io.BytesIO(videos[-1].encoded_image_string))
    assert gif.format == "GIF" and gif.n_frames == 4  # clip_len frames, animated
    assert (videos[-1].width, videos[-1].height) == gif.size
    assert gif.size[0] == 3 * 32 + 2 * 2  # condition | generated | target, 2-pixel gaps
    assert gif.size[1] == 2 * 32 + 2  # num_samples rows


def test_hparams_tab_holds_the_config_and_the_final_metrics(events):
    acc, results, _ = events
    content = acc.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"} <= set(content)
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metric_tags = {m.name.tag for m in experiment.metric_infos}
    assert {"final/val/psnr", "final/val/mse", "baseline/identity_psnr", "params/generator"} <= metric_tags
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    hp = {k: v.ListFields()[0][1] for k, v in start.hparams.items()}
    assert hp["seed"] == 42 and hp["dataset/frame_size"] == 32 and hp["generator/_target_"].endswith("UNet3d")
    # the metric values themselves, as scalars the HParams tab reads
    final = acc.Scalars("final/val/psnr")
    assert len(final) == 1 and final[0].value == pytest.approx(results["val/psnr"], rel=1e-5)
    assert acc.Scalars("baseline/identity_psnr")[0].value == pytest.approx(results["baseline/identity_psnr"], rel=1e-5)
