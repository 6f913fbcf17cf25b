"""Default limits of an adult right hand, in handkin's conventions (``ref`` units): the tables.

This module holds data only; :func:`handkin.limits_sources.default_limits` (also reachable here, and as
:meth:`JointLimits.default <handkin.JointLimits.default>`) builds a ``JointLimits`` from it.

How the defaults are made (``docs/limits.md`` has the measurements behind every choice):

* **Joint angles** — a literature *prior* per joint (:data:`JOINT_RANGES_DEG`, plus
  :data:`PRIOR_EXTRA_POINTS_DEG` for the thumb) united with the robust range of every real capture
  set, then grown by :data:`CALIBRATION` ``["margin_deg"]``: :func:`handkin.limits_sources.calibrated_limits`.
  The shipped polygons (:data:`JOINT_POLYGONS_DEG`) are that recipe run on the real sets listed in
  :data:`CALIBRATION_SOURCES`; ``benchmarks/calibrate_defaults.py`` regenerates them and
  ``benchmarks/plausibility.py`` scores the recipe leave-one-source-out.
* **Bone lengths** — a wide sanity envelope (:data:`BONE_LENGTHS_REF`): datasets place keypoints
  differently, so length *ratios* vary by source far more than anatomy does; the envelope catches
  wrong joint orders, units and broken skeletons, not anatomy. ``JointLimits.default(bone_lengths=False)``
  drops it.
* **Palm** — curvature and angular-distance intervals wide enough for real palms (:data:`CURVATURE_REF`,
  :data:`PALM_ANGLES_DEG`).

Sources
-------
[AAOS]   American Academy of Orthopaedic Surgeons, *Joint Motion: Method of Measuring and Recording* (1965);
         Greene & Heckman (eds.), *The Clinical Measurement of Joint Motion* (1994).
[Eaton]  C. Eaton, *Electronic Textbook of Hand Surgery*, "Normal range of motion".
[Chen13] F. C. Chen et al., "Constraint study for a hand exoskeleton: human hand kinematics and dynamics",
         Journal of Robotics 2013, 910961 (static constraints, Table 6).
[LK95]   J. Lee, T. L. Kunii, "Model-based analysis of hand posture", IEEE CG&A 15(5), 1995.
[Bain15] G. I. Bain et al., "The functional range of motion of the finger joints", J Hand Surg Eur 40(4), 2015.
[Hay13]  H. Hayashi, H. Shimizu, "Essential motion of metacarpophalangeal joints during activities of daily
         living", J Hand Ther 26(1), 2013.
[Kap]    I. A. Kapandji, *The Physiology of the Joints*, vol. 1 (passive DIP extension ≈ 30°).
[Coo81]  W. P. Cooney et al., "The kinesiology of the thumb trapeziometacarpal joint", JBJS Am 63, 1981.
[BK10]   A. Buryanov, V. Kotiuk, "Proportions of hand segments", Int J Morphol 28(3), 2010 (bone lengths).
[BMC]    A. Spurr et al., ECCV 2020, and its public reimplementation's reference limits (palm ranges).

Mapping to handkin's angles: clinical flexion/extension is handkin flexion (extension negative); an
MCP angle is measured against the wrist→MCP root bone, so the finger's CMC motion (5/5/10/15° [Chen13])
adds to MCP flexion, and a dataset's wrist placement shifts it. PIP and DIP are hinges (abduction ≈ 0
[Chen13]); their abduction tolerance grows with flexion because the paper's minimal-rotation frames pick
up twist as MCP flexion and abduction combine (real captures: ±5–20° straight, up to ±25–40° flexed).
The thumb's frames ignore its pronation, so real thumb flexion reads partly as negative abduction (down to
−90° at the MCP and IP, where the flexion angle itself becomes ill-defined); the thumb priors cover that fan.
"""

from __future__ import annotations

import math

from .handsize import ADULT_REFERENCE_MM, HAND_LENGTH_PER_REFERENCE

#: Defaults of :func:`handkin.personal.fit_user_limits`, chosen on held-out halves of real recordings (docs/limits.md,
#: "Personalisation"): the percentiles drop tracking outliers, the margins let the rest of the person's recording in.
USER_PERCENTILES: tuple[float, float] = (0.5, 99.5)
#: Every interval widened by this share of its width on both sides.
USER_MARGIN = 0.5
#: Angle polygons grown (and palm angles widened) by this angle, radians (5°).
USER_ANGLE_MARGIN = math.radians(5.0)
#: Bone lengths widened by at least this share of each bound (a source with fixed bones still accepts its hand).
USER_BONE_TOLERANCE = 0.05
#: Palm curvature widened by at least this much, per reference length (1/ref; converted for physical units).
USER_CURVATURE_TOLERANCE = 0.05

#: Literature prior per angle joint: flexion (min, max), abduction (min, max) at minimal flexion, abduction
#: (min, max) at maximal flexion (None = the same: a box), degrees, and the grounding. The prior polygon is
#: the convex hull of that trapezoid and :data:`PRIOR_EXTRA_POINTS_DEG`.
JOINT_RANGES_DEG: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None, str]] = {
    "thumb_cmc": ((-40, 120), (-60, 70), None, "palmar abduction 70 [AAOS], 45 [Eaton]; radial abduction 60 [Eaton]; arcs 53°/42° [Coo81]; zero = metacarpal in line with wrist→CMC, whose keypoint datasets place differently (1 cm swings the short wrist→CMC bone by ~30°), so wide; extension stops at −40° (a thumb through the palm reads −60° or less)"),
    "thumb_mcp": ((-20, 85), (-45, 15), (-30, 15), "flexion 50–80 [AAOS, Eaton, Chen13]; hyperextension 0–10 [AAOS, Eaton] + landmark tolerance; unpronated flexion reads as negative abduction"),
    "thumb_ip": ((-40, 90), (-60, 20), (-50, 20), "flexion 75–80 [Chen13, AAOS]; hyperextension 15–20 [AAOS, Eaton], passive to 40"),
    "index_mcp": ((-35, 100), (-40, 40), (-30, 30), "flexion 90 [AAOS, Chen13, LK95] + CMC 5 [Chen13]; hyperextension 45 [AAOS, Eaton]; abduction arc 60 [Chen13], collateral ligaments tight in flexion; landmark estimators read ±30–40° at flexed MCPs"),
    "index_pip": ((-10, 115), (-15, 15), (-30, 30), "flexion 110 [Chen13, LK95]; extension 0 [AAOS] + landmark tolerance; hinge"),
    "index_dip": ((-20, 110), (-15, 15), (-30, 30), "flexion 90 [AAOS, LK95] widened as real captures; passive extension ≈ 30 [Kap]; hinge"),
    "middle_mcp": ((-35, 100), (-40, 40), (-30, 30), "as index_mcp; abduction arc 45 [Chen13] widened"),
    "middle_pip": ((-10, 115), (-15, 15), (-30, 30), "flexion 110 [Chen13, LK95]; hinge"),
    "middle_dip": ((-20, 110), (-15, 15), (-30, 30), "flexion 90 [AAOS] widened as real captures; passive extension ≈ 30 [Kap]; hinge"),
    "ring_mcp": ((-35, 110), (-40, 40), (-30, 30), "flexion 90 [AAOS] + CMC 10 [Chen13]; ulnar digits more mobile [Bain15, Hay13]"),
    "ring_pip": ((-10, 120), (-15, 15), (-30, 30), "flexion 120 [Chen13]; hinge"),
    "ring_dip": ((-20, 110), (-15, 15), (-30, 30), "flexion 80–90 [Chen13] widened as the middle finger; hinge"),
    "little_mcp": ((-35, 110), (-40, 40), (-30, 30), "flexion 90 [AAOS] + CMC 15 [Chen13]; abduction arc 50 [Chen13] widened"),
    "little_pip": ((-10, 135), (-15, 15), (-30, 30), "flexion 135 [Chen13]; hinge"),
    "little_dip": ((-20, 115), (-15, 15), (-30, 30), "flexion 90 [Chen13, AAOS] widened as real captures; hinge"),
}  # fmt: skip

#: Extra prior vertices (flexion, abduction), degrees: the thumb's fan of pronated flexion, where flexion
#: reads as negative abduction (real captures reach −90° at the MCP and IP).
PRIOR_EXTRA_POINTS_DEG: dict[str, tuple[tuple[float, float], ...]] = {
    "thumb_mcp": ((-20, -90), (40, -90)),
    "thumb_ip": ((-40, -90), (90, -90), (95, -50)),
}

#: The recipe of :func:`handkin.limits_sources.calibrated_limits`: per real source, the (flexion,
#: abduction) points within these percentiles of both angles (sources with at least ``trim_min_hands``
#: hands; smaller ones keep every point), united with the prior, fitted to ``hull_points`` vertices
#: (supplementary §1) and grown outwards by ``margin_deg``. Chosen on the leave-one-source-out benchmark
#: (docs/limits.md).
CALIBRATION: dict[str, float] = {"percentiles_lo": 2.5, "percentiles_hi": 97.5, "trim_min_hands": 50, "hull_points": 10, "margin_deg": 10.0}  # fmt: skip

#: Wide sanity envelope of bone lengths relative to the wrist→middle_mcp bone. Real sets differ by source
#: (MediaPipe's index proximal phalanx 0.24–0.35, InterHand's 0.47–0.54, other labs' up to 0.84), so
#: these catch broken skeletons (wrong joint order, a missing joint, a unit mistake), not anatomy. The
#: reference bone itself is 1 by definition and has no interval.
BONE_LENGTHS_REF: dict[str, tuple[float, float]] = {
    "thumb_cmc": (0.10, 0.80), "thumb_mcp": (0.15, 0.90), "thumb_ip": (0.10, 0.75), "thumb_tip": (0.05, 0.75),
    "index_mcp": (0.60, 1.45), "index_pip": (0.10, 1.00), "index_dip": (0.06, 0.70), "index_tip": (0.03, 0.70),
    "middle_pip": (0.10, 1.00), "middle_dip": (0.06, 0.70), "middle_tip": (0.03, 0.70),
    "ring_mcp": (0.55, 1.40), "ring_pip": (0.10, 1.00), "ring_dip": (0.06, 0.70), "ring_tip": (0.03, 0.70),
    "little_mcp": (0.45, 1.30), "little_pip": (0.08, 0.90), "little_dip": (0.05, 0.60), "little_tip": (0.03, 0.60),
}  # fmt: skip

#: Palm curvature per reference length (ref units): contains the [BMC] reference ranges and the real
#: captures with room; negative minima admit a flat palm (STB's is planar), MediaPipe's slight reverse arch
#: and other thumb-CMC placements (index_middle's curvature moves by ±1.8 when the CMC keypoint moves 12 mm
#: off the palm plane). A reversed arch is left to the joint angles, which catch it on every non-flat hand.
CURVATURE_REF: dict[str, tuple[float, float]] = {
    "thumb_index": (-0.50, 1.00), "index_middle": (-2.00, 5.00), "middle_ring": (-0.60, 3.50), "ring_little": (-0.80, 1.80),
}  # fmt: skip

#: Angular distance between neighbouring root bones, degrees: the carpal fan (thumb–index fixed by the carpus,
#: ring and little CMC mobile by 10–15° [Chen13]); contains the [BMC] ranges and the real captures with room.
PALM_ANGLES_DEG: dict[str, tuple[float, float]] = {
    "thumb_index": (5.0, 90.0), "index_middle": (1.0, 35.0), "middle_ring": (1.0, 35.0), "ring_little": (1.0, 35.0),
}  # fmt: skip

# --- generated by benchmarks/calibrate_defaults.py: do not edit by hand ---
#: Real capture sets the shipped polygons were calibrated on, with their hand counts.
CALIBRATION_SOURCES: dict[str, int] = {"stb": 15000, "quest": 110, "mediapipe_video": 621, "interhand": 6, "mediapipe_gestures": 66}

#: The shipped joint polygons' corners (flexion, abduction), degrees, CCW: :data:`CALIBRATION`'s recipe on
#: :data:`CALIBRATION_SOURCES` (:func:`handkin.limits_sources.calibrated_polygons`), padded to
#: ``CALIBRATION['hull_points']`` vertices when loaded.
JOINT_POLYGONS_DEG: dict[str, tuple[tuple[float, float], ...]] = {
    "thumb_cmc": ((-50.0000, -70.0000), (130.0000, -70.0000), (130.0000, 80.0000), (-50.0000, 80.0000)),
    "thumb_mcp": ((-30.0000, 25.0000), (-30.0000, -100.0000), (45.0000, -100.0000), (95.0000, -33.3333), (95.0000, 25.0000)),
    "thumb_ip": ((-50.0000, 29.3948), (-50.0000, -100.0000), (98.8278, -100.0000), (105.0445, -50.2665), (99.3220, 29.8493), (-13.3213, 31.6860)),
    "index_mcp": ((-45.0000, -50.7681), (110.0000, -39.2867), (110.0000, 39.2867), (-45.0000, 50.7681)),
    "index_pip": ((125.0000, -40.3735), (125.0000, 38.6091), (89.9355, 43.8804), (34.3333, 45.1169), (-8.3142, 27.1243), (-20.0000, 21.0914), (-20.0000, -21.3085), (11.2089, -36.2001)),
    "index_dip": ((120.0000, -40.0689), (120.0000, 41.0194), (29.4426, 32.2151), (-30.0000, 23.6645), (-30.0000, -20.5290), (-0.1934, -39.2437)),
    "middle_mcp": ((-45.0000, -50.7681), (110.0000, -39.2867), (110.0000, 39.2867), (-45.0000, 50.7681)),
    "middle_pip": ((125.0000, 41.2717), (-20.0000, 23.8717), (-20.0000, -23.8146), (36.3356, -30.9417), (125.0000, -41.2271)),
    "middle_dip": ((-30.0000, 20.3553), (-30.0000, -23.9125), (120.0000, -41.2202), (120.0000, 40.4394), (32.6189, 36.6807), (-8.6097, 34.5990)),
    "ring_mcp": ((-45.0000, 50.7134), (-45.0000, -50.3579), (42.6075, -47.2766), (120.0000, -38.9860), (120.0000, 39.3341)),
    "ring_pip": ((130.0000, -41.1278), (130.0000, 41.2202), (-20.0000, 23.9125), (-20.0000, -23.8371), (52.9314, -32.8764)),
    "ring_dip": ((-30.0000, -23.9125), (120.0000, -41.2202), (120.0000, 41.2202), (-30.0000, 23.9125)),
    "little_mcp": ((71.2289, -56.7154), (120.0000, -36.7062), (120.0000, 39.3341), (-45.0000, 50.7134), (-45.0000, -49.3895)),
    "little_pip": ((145.0000, -40.0922), (145.0000, 41.0878), (-17.1400, 24.3147), (-33.0857, -17.3037), (-12.9823, -24.5549), (42.1166, -39.1475)),
    "little_dip": ((125.0000, -40.6205), (125.0000, 40.9480), (-12.6128, 28.4674), (-30.0000, 21.9198), (-30.0000, -23.5373), (48.5898, -36.0175)),
}  # fmt: skip
# --- end generated ---


def __getattr__(name: str):
    """``default_limits`` and ``joint_polygon`` build ``JointLimits`` from these tables; they live beside the model
    (:mod:`handkin.limits_sources`, which imports this module) and are reachable here too."""
    if name in ("default_limits", "joint_polygon", "calibrated_limits"):
        from . import limits_sources

        return getattr(limits_sources, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "default_limits",  # noqa: F822 (served by __getattr__)
    "joint_polygon",  # noqa: F822 (served by __getattr__)
    "calibrated_limits",  # noqa: F822 (served by __getattr__)
    "JOINT_RANGES_DEG",
    "PRIOR_EXTRA_POINTS_DEG",
    "CALIBRATION",
    "CALIBRATION_SOURCES",
    "JOINT_POLYGONS_DEG",
    "BONE_LENGTHS_REF",
    "CURVATURE_REF",
    "PALM_ANGLES_DEG",
    "ADULT_REFERENCE_MM",
    "HAND_LENGTH_PER_REFERENCE",
]
