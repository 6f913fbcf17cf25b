"""Loaders of every real 3D hand set in ``../shared/data``, as right hands in mm (issue 17).

``load_real_sets()`` returns an ordered ``{name: RealSet}``; a set whose files are missing is left out (and
:func:`missing` says which). The folder is ``$HANDKIN_SHARED_DATA`` (default ``<repo>/../shared/data``).

==================== ======= ============ ======= ==============================================================
name                 hands   camera frame sides   source
==================== ======= ============ ======= ==============================================================
``stb``              15000   yes          right   ``stb_sequences/stb_train_mp21_mm.npz`` ``xyz_cam_mm``; groups =
                                                  the 10 sequence names (B2Counting …); already mirrored to right
``quest``            110     no (wrist)   both    ``quest_handyjs_poses/poses_mp21_mm.npz`` ``xyz_mm``, ``side``;
                                                  groups = pose names; rounded to 1 mm in the file
``mediapipe_video``  621     no (wrist)   right   ``mediapipe_video_sequence/sequence_mp21_mm.npz``
                                                  ``xyz_wrist_frame_mm``; MediaPipe output, not ground truth
``interhand``        6       yes          both    ``interhand26m_excerpt/excerpt_mp21_mm.npz`` ``xyz_cam_mm``
``mediapipe_gestures`` 66    no (image    both    MediaPipe *world* landmarks (m → mm) of
                             axes)                ``mediapipe_expected_landmarks/parsed_landmarks.json`` and
                                                  ``gesture_photos/mp_results_*.json``; sides from geometry
``rhd``              3       yes          both    ``rhd_excerpt/excerpt_mp21_mm.npz``: **synthetic** control
==================== ======= ============ ======= ==============================================================

Left hands are mirrored x → −x (handkin's convention, :meth:`handkin.HandSkeleton.as_right`); ``sides`` keeps
what each hand was. Hands with NaN/inf joints or no landmarks are skipped and counted in ``note``.

MediaPipe's handedness label: on the 60 distinct hands of ``gesture_photos/mp_results_*.json`` (ordinary,
unmirrored photos; 4 more are duplicates of the same Panoptic image and are dropped) the label is the *opposite* of the hand's geometry on every hand (MediaPipe assumes selfie images;
e.g. all 7 FreiHAND right hands are labelled "Left"), while the 6 hands of ``parsed_landmarks.json`` (MediaPipe's
own test images) are labelled "Right" and are right hands by geometry. The loader therefore takes the side from
the geometry (:func:`geometric_side`: the side whose mirror makes the four fingers' summed flexion larger; the
margin is ≥ 90° on every one of these hands) and records the label in ``labels``. For the other sets the side
stored in the file is used; :func:`geometric_side` disagrees with it on 6 of 110 Quest poses (hyperextended
poses such as "flare", where the flexion sum is not a reliable cue) and on 2 of the 6 InterHand hands
(image44669) — kept as stored, noted in ``note``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from handkin.frames import measure

REPO = Path(__file__).resolve().parents[1]
_MIRROR = np.array([-1.0, 1.0, 1.0])


def shared_data() -> Path:
    """The shared data folder: ``$HANDKIN_SHARED_DATA`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("HANDKIN_SHARED_DATA", REPO.parent / "shared" / "data"))


@dataclass(frozen=True)
class RealSet:
    """One source of real (or, for ``rhd``, synthetic) hands, as right hands in mm."""

    name: str
    joints_mm: np.ndarray
    """``(n, 21, 3)`` float64, MP21 order, right hands (left hands mirrored x → −x)."""
    sides: np.ndarray
    """``(n,)`` ``'right'``/``'left'``: the side each hand was before mirroring."""
    camera_frame: bool
    """True when the joints are in a pinhole camera frame (z > 0, OpenCV axes)."""
    synthetic: bool
    """True for rendered hands (the control; never used to build limits)."""
    groups: np.ndarray | None = None
    """``(n,)`` a label per hand (STB sequence, Quest pose name, MediaPipe file / gesture), or None."""
    note: str = ""
    view: str = "palm"
    """For sets not in a camera frame: how :func:`handkin.twins.to_virtual_camera` views them (``palm``/``z``)."""
    labels: np.ndarray | None = field(default=None, repr=False)
    """MediaPipe's own handedness labels, where the set has them."""

    def __len__(self) -> int:
        return len(self.joints_mm)

    def subset(self, index: np.ndarray) -> RealSet:
        """The hands at ``index`` (an integer array)."""

        def pick(a):
            return None if a is None else a[index]

        return replace(
            self,
            joints_mm=self.joints_mm[index],
            sides=self.sides[index],
            groups=pick(self.groups),
            labels=pick(self.labels),
        )


def geometric_side(joints: np.ndarray) -> np.ndarray:
    """``(n,)`` ``'right'``/``'left'`` from geometry: a right hand's fingers flex towards +flexion, so the side
    whose reading (as is, or mirrored) gives the larger summed MCP/PIP/DIP flexion of the four fingers wins.
    Joints ``(n, 21, 3)``. Unreliable for hyperextended (bent-back) poses."""
    as_right = np.asarray(measure(joints, with_frames=False).joint_angles)[..., 3:, 0].sum(-1)
    as_left = np.asarray(measure(joints * _MIRROR, with_frames=False).joint_angles)[..., 3:, 0].sum(-1)
    return np.where(as_right >= as_left, "right", "left")


def _clean(name: str, joints: np.ndarray, sides: np.ndarray, **kw) -> RealSet:
    """Drop non-finite hands (counted in the note), mirror left hands, build the RealSet."""
    joints = np.asarray(joints, dtype=np.float64)
    sides = np.broadcast_to(np.asarray(sides).astype(str), joints.shape[:1]).copy()
    good = np.isfinite(joints).all(axis=(1, 2))
    notes = [kw.pop("note", "")]
    if not good.all():
        notes.append(f"{int((~good).sum())} hand(s) with NaN/inf skipped")
    joints, sides = joints[good], sides[good]
    for key in ("groups", "labels"):
        if kw.get(key) is not None:
            kw[key] = np.asarray(kw[key])[good]
    disagree = int((geometric_side(joints) != sides).sum()) if len(joints) else 0
    if disagree and name != "mediapipe_gestures":
        notes.append(f"geometry disagrees with the stored side on {disagree} hand(s) (stored side kept)")
    joints = np.where((sides == "left")[:, None, None], joints * _MIRROR, joints)
    return RealSet(name, joints, sides, note="; ".join(n for n in notes if n), **kw)


def _stb(root: Path) -> RealSet:
    d = np.load(root / "stb_sequences" / "stb_train_mp21_mm.npz")
    groups = np.asarray(d["sequence_names"])[np.asarray(d["sequence"], dtype=np.int64)]
    return _clean(
        "stb",
        d["xyz_cam_mm"],
        "right",
        camera_frame=True,
        synthetic=False,
        groups=groups,
        note="STB, one person; wrist synthetic (from the palm centre); file already mirrored to right",
    )


def _quest(root: Path) -> RealSet:
    d = np.load(root / "quest_handyjs_poses" / "poses_mp21_mm.npz")
    return _clean(
        "quest",
        d["xyz_mm"],
        d["side"],
        camera_frame=False,
        synthetic=False,
        groups=d["pose_names"],
        note="Meta Quest tracker, wrist-local frame, rounded to 1 mm",
    )


def _mediapipe_video(root: Path) -> RealSet:
    d = np.load(root / "mediapipe_video_sequence" / "sequence_mp21_mm.npz")
    return _clean(
        "mediapipe_video",
        d["xyz_wrist_frame_mm"],
        "right",
        camera_frame=False,
        synthetic=False,
        note="MediaPipe world landmarks of one video, MANO-like wrist frame (model output)",
    )


def _interhand(root: Path) -> RealSet:
    d = np.load(root / "interhand26m_excerpt" / "excerpt_mp21_mm.npz")
    return _clean(
        "interhand",
        d["xyz_cam_mm"],
        d["side"],
        camera_frame=True,
        synthetic=False,
        groups=d["image"],
        note="InterHand2.6M test excerpt, camera frame",
    )


def _rhd(root: Path) -> RealSet:
    d = np.load(root / "rhd_excerpt" / "excerpt_mp21_mm.npz")
    return _clean(
        "rhd",
        d["xyz_cam_mm"],
        d["side"],
        camera_frame=True,
        synthetic=True,
        groups=d["image"],
        note="RHD renders: SYNTHETIC control",
    )


def _mediapipe_gestures(root: Path) -> RealSet:
    hands, groups, labels = [], [], []
    empty = 0
    expected = root / "mediapipe_expected_landmarks" / "parsed_landmarks.json"
    for name, entry in json.loads(expected.read_text()).items():
        if entry.get("world_landmarks"):
            hands.append(entry["world_landmarks"])
            groups.append(f"expected/{name.split('.')[0]}")
            labels.append(entry["handedness"][0] if entry.get("handedness") else "")
        else:
            empty += 1
    for path in sorted((root / "gesture_photos").glob("mp_results_*.json")):
        for image, entry in json.loads(path.read_text()).items():
            world = entry.get("world_landmarks_m") or []
            empty += not world
            for k, w in enumerate(world):
                hands.append(w)
                parts = image.split("/")
                groups.append(f"{parts[-3]}/{parts[-2]}")  # e.g. mp_gesture/call, mmpose/freihand
                labels.append(entry["handedness"][k][0] if k < len(entry.get("handedness", [])) else "")
    joints = np.asarray(hands, dtype=np.float64).reshape(-1, 21, 3) * 1000.0  # m → mm
    _, first = np.unique(joints.reshape(len(joints), -1), axis=0, return_index=True)
    keep = np.sort(first)  # the same photo listed twice gives the same landmarks: keep one
    dup = len(joints) - len(keep)
    joints, groups, labels = joints[keep], np.asarray(groups)[keep], np.asarray(labels)[keep]
    sides = geometric_side(joints)
    mirrored = int(sum(lab.lower() != s for lab, s in zip(labels, sides, strict=True) if lab))
    note = (
        f"MediaPipe world landmarks (image-aligned axes, hand-centred); sides from geometry: the label is the "
        f"opposite side on {mirrored} of {int((labels != '').sum())} labelled hands; {empty} entr(y/ies) "
        f"without world landmarks and {dup} duplicate(s) skipped"
    )
    return _clean(
        "mediapipe_gestures",
        joints,
        sides,
        camera_frame=False,
        synthetic=False,
        groups=groups,
        labels=labels,
        view="z",
        note=note,
    )


#: The loaders in table order, and the files each needs.
LOADERS = {
    "stb": (_stb, ["stb_sequences/stb_train_mp21_mm.npz"]),
    "quest": (_quest, ["quest_handyjs_poses/poses_mp21_mm.npz"]),
    "mediapipe_video": (_mediapipe_video, ["mediapipe_video_sequence/sequence_mp21_mm.npz"]),
    "interhand": (_interhand, ["interhand26m_excerpt/excerpt_mp21_mm.npz"]),
    "mediapipe_gestures": (
        _mediapipe_gestures,
        ["mediapipe_expected_landmarks/parsed_landmarks.json", "gesture_photos"],
    ),
    "rhd": (_rhd, ["rhd_excerpt/excerpt_mp21_mm.npz"]),
}


def missing(root: Path | None = None) -> list[str]:
    """Names of the sets whose files are absent."""
    root = shared_data() if root is None else Path(root)
    return [n for n, (_, files) in LOADERS.items() if not all((root / f).exists() for f in files)]


def load_real_sets(root: Path | str | None = None, names: list[str] | None = None) -> dict[str, RealSet]:
    """``{name: RealSet}`` in table order for every set present (``names`` to choose); ``{}`` when the folder
    is absent."""
    root = shared_data() if root is None else Path(root)
    absent = set(missing(root))
    out = {}
    for name, (loader, _) in LOADERS.items():
        if (names is None or name in names) and name not in absent:
            out[name] = loader(root)
    return out


if __name__ == "__main__":
    sets = load_real_sets()
    if not sets:
        print(f"no shared data at {shared_data()} (set HANDKIN_SHARED_DATA)")
    for s in sets.values():
        sides = dict(zip(*np.unique(s.sides, return_counts=True), strict=True))
        print(
            f"{s.name:<20} {len(s):>6}  camera={s.camera_frame!s:<5} synthetic={s.synthetic!s:<5} "
            f"sides={sides}  {s.note}"
        )
    for name in missing():
        print(f"{name:<20} missing")
