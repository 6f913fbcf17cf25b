"""Literature-based default limits of an adult right hand, in handkin's conventions (``ref`` units): the tables.

This module holds data only; :func:`handkin.limits_sources.default_limits` (also reachable here, and as
:meth:`JointLimits.default <handkin.JointLimits.default>`) builds a ``JointLimits`` from it.

Every number is grounded in a published source (tags below, full citations in
``docs/limits.md``) and widened only where real hands need it: the InterHand2.6M and RHD excerpts,
the 621-frame MediaPipe video and MediaPipe's reference gestures all pass with at least 5° to
spare, while a finger bent backwards 60° at its MCP, PIP or DIP joint does not.

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
adds to MCP flexion. PIP and DIP are hinges (abduction ≈ 0 [Chen13]); their ±30° abduction is a
tolerance for landmark noise and for the twist the paper's minimal-rotation frames pick up, not motion.
The thumb's frames ignore its pronation, so part of real thumb flexion reads as negative abduction; the
thumb limits are therefore set by real captures with the clinical arcs ([AAOS], [Eaton], [Coo81]) as caps.
"""

from __future__ import annotations

from .handsize import ADULT_REFERENCE_MM, HAND_LENGTH_PER_REFERENCE

#: Per angle joint: flexion (min, max), abduction (min, max) in degrees, the abduction range kept at
#: maximal flexion (MCP joints: collateral ligaments tighten as the MCP flexes), and the grounding.
JOINT_RANGES_DEG: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None, str]] = {
    "thumb_cmc": ((-40, 70), (-35, 50), None, "palmar abduction 70 [AAOS], 45 [Eaton]; radial abduction 60 [Eaton]; arcs 53°/42° [Coo81]; widened for InterHand (−31°)"),
    "thumb_mcp": ((-20, 80), (-45, 15), None, "flexion 50–80 [AAOS, Eaton, Chen13]; hyperextension 0–10 [AAOS, Eaton] widened for data; abduction mirrors unpronated flexion"),
    "thumb_ip": ((-40, 90), (-60, 20), None, "flexion 75–80 [Chen13, AAOS]; hyperextension 15–20 [AAOS, Eaton] widened for InterHand (−32°)"),
    "index_mcp": ((-45, 100), (-30, 30), (-20, 20), "flexion 90 [AAOS, Chen13, LK95] + CMC 5 [Chen13]; hyperextension 45 [AAOS, Eaton]; abduction arc 60 [Chen13]"),
    "index_pip": ((-25, 115), (-30, 50), None, "flexion 110 [Chen13, LK95], widened for 106° (MediaPipe fist); extension 0 [AAOS] widened; abduction tolerance set by data (41°)"),
    "index_dip": ((-30, 110), (-35, 30), None, "flexion 90 [AAOS, LK95] widened for MediaPipe; passive extension ≈ 30 [Kap]"),
    "middle_mcp": ((-45, 100), (-30, 30), (-20, 20), "as index_mcp; abduction arc 45 [Chen13] widened"),
    "middle_pip": ((-25, 115), (-30, 30), None, "flexion 110 [Chen13, LK95]"),
    "middle_dip": ((-30, 110), (-30, 40), None, "flexion 90 [AAOS] widened for 99° (MediaPipe fist); passive extension ≈ 30 [Kap]"),
    "ring_mcp": ((-45, 110), (-30, 30), (-20, 20), "flexion 90 [AAOS] + CMC 10 [Chen13]; ulnar digits more mobile [Bain15, Hay13]"),
    "ring_pip": ((-25, 120), (-30, 30), None, "flexion 120 [Chen13]"),
    "ring_dip": ((-30, 110), (-30, 30), None, "flexion 80–90 [Chen13] widened as the middle finger"),
    "little_mcp": ((-45, 110), (-30, 30), (-20, 20), "flexion 90 [AAOS] + CMC 15 [Chen13]; abduction arc 50 [Chen13] widened"),
    "little_pip": ((-25, 135), (-30, 30), None, "flexion 135 [Chen13]"),
    "little_dip": ((-30, 115), (-30, 30), None, "flexion 90 [Chen13, AAOS] widened for 108° (MediaPipe thumb-up)"),
}  # fmt: skip

#: Bone lengths relative to the wrist→middle_mcp bone: the envelope of [BK10] (at 87 mm), the template and
#: the real captures, widened by 15 %. MediaPipe's proximal phalanges come out short, hence the low minima. The
#: reference bone itself (middle_mcp) is 1 by definition and has no interval.
BONE_LENGTHS_REF: dict[str, tuple[float, float]] = {
    "thumb_cmc": (0.27, 0.59), "thumb_mcp": (0.21, 0.62), "thumb_ip": (0.22, 0.50), "thumb_tip": (0.17, 0.49),
    "index_mcp": (0.90, 1.20), "index_pip": (0.20, 0.62), "index_dip": (0.10, 0.35), "index_tip": (0.15, 0.44),
    "middle_pip": (0.27, 0.62), "middle_dip": (0.14, 0.42), "middle_tip": (0.06, 0.50),
    "ring_mcp": (0.80, 1.10), "ring_pip": (0.22, 0.61), "ring_dip": (0.15, 0.39), "ring_tip": (0.12, 0.39),
    "little_mcp": (0.65, 1.05), "little_pip": (0.15, 0.47), "little_dip": (0.15, 0.33), "little_tip": (0.07, 0.33),
}  # fmt: skip

#: Palm curvature per reference length (ref units): contains the [BMC] reference ranges and the real captures;
#: slightly negative minima admit a flat palm and MediaPipe's slight reverse arch.
CURVATURE_REF: dict[str, tuple[float, float]] = {
    "thumb_index": (-0.10, 0.45), "index_middle": (-0.10, 3.50), "middle_ring": (-0.10, 2.30), "ring_little": (-0.40, 0.90),
}  # fmt: skip

#: Angular distance between neighbouring root bones, degrees: the carpal fan (thumb–index fixed by the carpus,
#: ring and little CMC mobile by 10–15° [Chen13]); contains the [BMC] ranges and the real captures ± ≥ 5°.
PALM_ANGLES_DEG: dict[str, tuple[float, float]] = {
    "thumb_index": (15.0, 55.0), "index_middle": (3.0, 27.0), "middle_ring": (2.0, 25.0), "ring_little": (5.0, 25.0),
}  # fmt: skip


def __getattr__(name: str):
    """``default_limits`` and ``joint_polygon`` build ``JointLimits`` from these tables; they live beside the model
    (:mod:`handkin.limits_sources`, which imports this module) and are reachable here too."""
    if name in ("default_limits", "joint_polygon"):
        from . import limits_sources

        return getattr(limits_sources, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "default_limits",  # noqa: F822 (served by __getattr__)
    "joint_polygon",  # noqa: F822 (served by __getattr__)
    "JOINT_RANGES_DEG",
    "BONE_LENGTHS_REF",
    "CURVATURE_REF",
    "PALM_ANGLES_DEG",
    "ADULT_REFERENCE_MM",
    "HAND_LENGTH_PER_REFERENCE",
]
