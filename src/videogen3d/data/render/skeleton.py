"""An articulated 2D dancer: joint positions over time from smooth periodic joint angles.

The stand-in for the seed's MikuMikuDance motions (seed 000, section 5.1): every joint angle is
a sum of sinusoids on a per-sequence tempo with per-sequence amplitudes and phases, plus body
sway and side steps; the lower foot stays on the ground. Everything is a vectorised numpy
expression over the frames of a sequence, deterministic from ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

# joints, in image pixels (x right, y down); L = the figure's left as seen in the image
JOINTS = (
    "head", "neck", "pelvis",
    "shoulder_l", "elbow_l", "wrist_l", "shoulder_r", "elbow_r", "wrist_r",
    "hip_l", "knee_l", "ankle_l", "hip_r", "knee_r", "ankle_r",
)  # fmt: skip
J = {name: i for i, name in enumerate(JOINTS)}

# bones of the stick figure (the head is drawn as a ring around "head")
BONES = (
    ("neck", "pelvis"), ("neck", "head"),
    ("shoulder_l", "shoulder_r"), ("shoulder_l", "elbow_l"), ("elbow_l", "wrist_l"),
    ("shoulder_r", "elbow_r"), ("elbow_r", "wrist_r"),
    ("hip_l", "hip_r"), ("hip_l", "knee_l"), ("knee_l", "ankle_l"),
    ("hip_r", "knee_r"), ("knee_r", "ankle_r"),
)  # fmt: skip

# body proportions in frame heights: one fixed character for every dataset
BODY = {
    "head_r": 0.062, "neck": 0.035, "torso": 0.245, "shoulder_w": 0.075, "hip_w": 0.05,
    "upper_arm": 0.135, "forearm": 0.125, "thigh": 0.175, "shin": 0.17, "ground": 0.935,
}  # fmt: skip


def _wave_params(rng: np.random.Generator, amp: float) -> tuple[float, float, float, float]:
    """Amplitudes and phases of a two-harmonic wave with peak amplitude about ``amp``."""
    return (rng.uniform(0.4, 1.0) * amp, rng.uniform(0.0, 0.35) * amp, *rng.uniform(0, 2 * np.pi, size=2))


def _wave(t: np.ndarray, f0: float, params: tuple, base: float = 0.0, shift: float = 0.0) -> np.ndarray:
    """``base`` + two harmonics of the tempo ``f0`` (Hz), phase-shifted by ``shift``, ``(T,)``."""
    a1, a2, p1, p2 = params
    w = 2 * np.pi * f0 * t + shift
    return base + a1 * np.sin(w + p1) + a2 * np.sin(2 * w + p2)


def _limb(root: np.ndarray, a1: np.ndarray, a2: np.ndarray, l1: float, l2: float, side: float):
    """Two-bone limb from ``root (T, 2)``; angles from straight down, positive = away from the body."""
    d1 = np.stack([side * np.sin(a1), np.cos(a1)], -1)
    d2 = np.stack([side * np.sin(a1 + a2), np.cos(a1 + a2)], -1)
    mid = root + l1 * d1
    return mid, mid + l2 * d2


def dance(
    num_frames: int, rng: np.random.Generator, fps: float = 25.0, height: int = 64, width: int | None = None
) -> np.ndarray:
    """Joint positions of one dance sequence: ``float32 (T, len(JOINTS), 2)`` in pixels.

    ``rng`` decides the whole sequence (tempo, style of each limb's motion, sway, steps), so a
    generator seeded by ``(seed, sequence index)`` gives the same dance every time.
    """
    width = width or height
    t = np.arange(num_frames) / fps + rng.uniform(0, 10)  # a random moment of an endless dance
    f0 = rng.uniform(0.45, 1.1)  # tempo: one step cycle per 0.9-2.2 s
    b = BODY

    torso_tilt = _wave(t, f0, _wave_params(rng, np.deg2rad(rng.uniform(2, 10))))
    head_tilt = _wave(t, f0, _wave_params(rng, np.deg2rad(rng.uniform(3, 14))))
    # arms: a base pose and a motion per sequence; the right arm mirrors the left in phase,
    # in anti-phase, or moves on its own
    mode = rng.integers(3)
    arms = []
    for side in (-1.0, 1.0):
        if side < 0 or mode == 2:
            sh_wave = (_wave_params(rng, np.deg2rad(rng.uniform(20, 55))), np.deg2rad(rng.uniform(25, 95)))
            el_wave = (_wave_params(rng, np.deg2rad(rng.uniform(10, 45))), np.deg2rad(rng.uniform(5, 70)))
        shift = np.pi if (side > 0 and mode == 1) else 0.0
        shoulder, elbow = _wave(t, f0, *sh_wave, shift=shift), _wave(t, f0, *el_wave, shift=shift)
        arms.append((np.clip(shoulder, 0.05, np.deg2rad(150)), np.clip(elbow, 0.0, np.deg2rad(140))))
    legs = []
    leg_phase = rng.uniform(0, 2 * np.pi)
    for side in (-1.0, 1.0):
        step = np.sin(2 * np.pi * f0 * t + leg_phase + (np.pi if side > 0 else 0.0))
        hip = np.deg2rad(rng.uniform(4, 10)) + np.deg2rad(rng.uniform(5, 25)) * np.clip(step, 0, None)
        knee = -np.deg2rad(rng.uniform(10, 45)) * np.clip(step, 0, None) ** 2
        legs.append((hip, knee))

    # skeleton with the pelvis at the origin, in frame heights
    up = np.stack([np.sin(torso_tilt), -np.cos(torso_tilt)], -1)  # pelvis -> neck
    across = np.stack([np.cos(torso_tilt), np.sin(torso_tilt)], -1)  # the figure's left -> right
    pelvis = np.zeros((num_frames, 2))
    neck = pelvis + b["torso"] * up
    head_dir = np.stack([np.sin(torso_tilt + head_tilt), -np.cos(torso_tilt + head_tilt)], -1)
    head = neck + (b["neck"] + b["head_r"]) * head_dir
    pts = {"head": head, "neck": neck, "pelvis": pelvis}
    for side, name, (a1, a2) in zip((-1.0, 1.0), "lr", arms):
        sh = neck - 0.2 * b["neck"] * up + side * b["shoulder_w"] * across
        pts[f"shoulder_{name}"] = sh
        arm = _limb(sh, a1 - side * torso_tilt, a2, b["upper_arm"], b["forearm"], side)
        pts[f"elbow_{name}"], pts[f"wrist_{name}"] = arm
    for side, name, (a1, a2) in zip((-1.0, 1.0), "lr", legs):
        hp = pelvis + side * b["hip_w"] * across
        pts[f"hip_{name}"] = hp
        pts[f"knee_{name}"], pts[f"ankle_{name}"] = _limb(hp, a1, a2, b["thigh"], b["shin"], side)
    joints = np.stack([pts[n] for n in JOINTS], 1)  # (T, J, 2)

    # stand on the ground (the lower ankle), sway and step sideways within the frame
    joints[..., 1] += b["ground"] - joints[:, [J["ankle_l"], J["ankle_r"]], 1].max(1, keepdims=True)
    sway = _wave(t, f0 / 2, _wave_params(rng, rng.uniform(0.02, 0.08))) + _wave(t, f0 / 4, _wave_params(rng, 0.04))
    joints[..., 0] += 0.5 * width / height + np.clip(sway, -0.11, 0.11)[:, None]
    return (joints * height).astype(np.float32)
