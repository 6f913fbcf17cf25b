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
"""

from __future__ import annotations

REFERENCE_MM = 87.0
ADULT_REFERENCE_MM = (75.0, 115.0)
HAND_LENGTH_MM = 184.0
HAND_LENGTH_PER_REFERENCE = HAND_LENGTH_MM / REFERENCE_MM
PLAUSIBLE_REFERENCE_MM = (15.0, 400.0)
DATASET_REFERENCE_MM = (35.0, 200.0)

__all__ = [
    "REFERENCE_MM",
    "ADULT_REFERENCE_MM",
    "HAND_LENGTH_MM",
    "HAND_LENGTH_PER_REFERENCE",
    "PLAUSIBLE_REFERENCE_MM",
    "DATASET_REFERENCE_MM",
]
