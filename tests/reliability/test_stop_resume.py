"""Stops and resumes, as Lightning's own restart tests check them (issue 14, item 5).

A run stopped by a real signal (SIGTERM, SIGINT, SIGUSR1) writes ``last.ckpt`` with the state after
its last complete batch and exits ``128 + signum``; resumed from it, it ends with the weights and
optimizer states of a run that was never stopped (to 1e-6), at an epoch boundary and mid-epoch, for
the translator and the conditional GAN.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from videogen3d.train import train

STEPS_PER_EPOCH = 4  # 8 clips per epoch, batch 2
COMMON = ["baselines=false", "callbacks.sample_media=null", "callbacks.lr_monitor=null",
          f"dataset.train_clips_per_epoch={2 * STEPS_PER_EPOCH}", "trainer.limit_val_batches=1",
          "trainer.max_epochs=2"]
TASKS = {"translator": [], "gan": ["disc=conv", "disc.ndf=4", "loss=mixed"]}
# (task, batches done when the signal comes, signal): the faults a run must survive
FAULTS = [
    ("translator", STEPS_PER_EPOCH, "SIGTERM"),      # at an epoch boundary
    ("translator", STEPS_PER_EPOCH + 2, "SIGTERM"),  # mid-epoch
    ("translator", 2, "SIGINT"),                     # Ctrl+C mid-epoch
    ("gan", STEPS_PER_EPOCH + 1, "SIGUSR1"),         # mid-epoch, the GAN's two optimizers
]


def _compare(a: dict, b: dict) -> None:
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, atol=1e-6, rtol=0, msg=key)
    assert len(a["optimizer_states"]) == len(b["optimizer_states"])
    for oa, ob in zip(a["optimizer_states"], b["optimizer_states"]):
        for pid, state in oa["state"].items():
            for name, value in state.items():
                torch.testing.assert_close(ob["state"][pid][name], value, atol=1e-6, rtol=0, msg=f"{pid}.{name}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, shared_data_dir):
    """The uninterrupted runs' final ``last.ckpt``, one per task (trained on first use)."""
    from videogen3d.utils.compose import compose_train
    from hydra.core.global_hydra import GlobalHydra

    done: dict[str, dict] = {}

    def get(task: str) -> dict:
        if task not in done:
            out = tmp_path_factory.mktemp(f"ref_{task}")
            results = train(compose_train([*COMMON, *TASKS[task]], out, shared_data_dir))
            GlobalHydra.instance().clear()
            assert results["global_step"] > 0
            done[task] = torch.load(results["last_checkpoint"], weights_only=True)
        return done[task]

    return get


@pytest.mark.parametrize("task,batches,signame", FAULTS, ids=[f"{t}-{b}-{s}" for t, b, s in FAULTS])
def test_stopped_by_a_signal_and_resumed_equals_uninterrupted(reference, train_cfg, tmp_path, task, batches,
                                                              signame):
    kill = ["+callbacks.kill._target_=_signals.SignalAfterBatch", f"+callbacks.kill.batches={batches}",
            f"+callbacks.kill.signum={signame}"]
    with pytest.raises(SystemExit) as stop:
        train(train_cfg(*COMMON, *TASKS[task], *kill, name="stopped"))
    assert stop.value.code == 128 + getattr(signal, signame)  # not 0: a scheduler sees the stop
    last = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)
    done = state["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"]
    assert state["epoch"] == batches // STEPS_PER_EPOCH - (batches % STEPS_PER_EPOCH == 0)
    assert done == (batches % STEPS_PER_EPOCH or STEPS_PER_EPOCH)  # saved after the batch the signal came in
    resumed = train(train_cfg(*COMMON, *TASKS[task], f"ckpt_path={last}", name="resumed"))
    assert resumed["epochs"] == 2
    _compare(reference(task), torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True))


def test_last_ckpt_is_the_last_epoch_even_when_the_metric_did_not_improve(train_cfg, tmp_path):
    """Lightning's save_last rewrites last.ckpt only with a new best; here it follows every epoch."""
    results = train(train_cfg(*COMMON, "trainer.max_epochs=3", "optim.generator.lr=1e-12", name="flat"))
    state = torch.load(results["last_checkpoint"], weights_only=True)
    assert state["epoch"] == 2 and state["global_step"] == 3 * STEPS_PER_EPOCH


# (task, batches done at the limit, optimizer steps per batch: the GAN steps D then G)
MAX_STEPS_STOPS = [("translator", STEPS_PER_EPOCH + 2, 1), ("translator", 2, 1), ("gan", STEPS_PER_EPOCH + 1, 2)]


@pytest.mark.parametrize("task,batches,per_batch", MAX_STEPS_STOPS,
                         ids=[f"{t}-{b}" for t, b, _ in MAX_STEPS_STOPS])
def test_stopped_by_max_steps_and_resumed_equals_uninterrupted(reference, train_cfg, tmp_path, task, batches,
                                                               per_batch):
    """A ``trainer.max_steps`` stop mid-epoch leaves the epoch open: a resume with a later limit trains the
    rest of that epoch in the same order, then the following epochs, and ends where an uninterrupted run
    ends (Lightning alone records the epoch as done, so the resume skipped the rest of it)."""
    stopped = train(train_cfg(*COMMON, *TASKS[task], f"trainer.max_steps={batches * per_batch}", name="stopped"))
    assert stopped["global_step"] == batches * per_batch
    last = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)
    assert state["epoch"] == batches // STEPS_PER_EPOCH
    assert state["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"] == batches % STEPS_PER_EPOCH
    resumed = train(train_cfg(*COMMON, *TASKS[task], f"ckpt_path={last}", name="resumed"))
    assert resumed["global_step"] == 2 * STEPS_PER_EPOCH * per_batch and resumed["epochs"] == 2
    _compare(reference(task), torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True))
