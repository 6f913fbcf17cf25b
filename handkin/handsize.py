"""Hand size: the one home of every constant about how large a human hand is (millimetres).

The reference bone is wrist→middle_mcp (``units.DEFAULT_REFERENCE_BONE``).

* :data:`REFERENCE_MM` — the adult template's reference bone (87 mm; the template of
  :mod:`handkin.template` is built on it).
* :data:`ADULT_REFERENCE_MM` — the range of adult reference bones used to turn limits in ``ref`` units
  into physical units (75–115 mm).
* :data:`HAND_LENGTH_PER_REFERENCE` — hand length (wrist crease to middle fingertip, 184 mm in the
  template) per reference-bone length.
* :data:`PLAUSIBLE_REFERENCE_MM` — the widest window a reference bone can have in any input before its
  units are called wrong (15–400 mm: children's hands in m/cm/mm mix-ups are still told apart).
* :data:`DATASET_REFERENCE_MM` — the window a dataset reader accepts for labelled 3D hands (35–200 mm).
* :data:`BONE_LENGTHS_MM` — round adult lengths of the 20 bones (the template's; their proportions tell joint
  orders apart, :func:`handkin.orders.guess_order`).
"""

from __future__ import annotations

REFERENCE_MM = 87.0
ADULT_REFERENCE_MM = (75.0, 115.0)
HAND_LENGTH_MM = 184.0
HAND_LENGTH_PER_REFERENCE = HAND_LENGTH_MM / REFERENCE_MM
PLAUSIBLE_REFERENCE_MM = (15.0, 400.0)
DATASET_REFERENCE_MM = (35.0, 200.0)
#: Adult bone lengths, mm, of the bones of joints 1..20 (MP21; a bone is named after its child joint): per finger
#: (thumb, index, middle, ring, little) the root bone from the wrist, then the three bones towards the tip.
BONE_LENGTHS_MM: tuple[float, ...] = (
    40.0, 40.0, 32.0, 27.0,
    88.0, 42.0, 25.0, 23.0,
    REFERENCE_MM, 44.0, 29.0, 24.0,
    83.0, 40.0, 27.0, 23.0,
    78.0, 32.0, 20.0, 20.0,
)  # fmt: skip

__all__ = [
    "REFERENCE_MM",
    "ADULT_REFERENCE_MM",
    "HAND_LENGTH_MM",
    "HAND_LENGTH_PER_REFERENCE",
    "PLAUSIBLE_REFERENCE_MM",
    "DATASET_REFERENCE_MM",
    "BONE_LENGTHS_MM",
]
