"""Length units of skeletons and limits: ``m``, ``cm``, ``mm`` and ``ref``.

``ref`` means normalised: lengths are divided by the reference bone's length (by default the
wrist→middle_mcp bone, called ``middle_mcp`` after its child joint), so that bone has length 1.
A ``ref`` skeleton has lost its scale; it goes back to physical units only when that scale is
given.
"""

from __future__ import annotations

from enum import Enum

from .errors import UnitsError
from .handsize import PLAUSIBLE_REFERENCE_MM


class Units(str, Enum):
    """A length unit."""

    m = "m"
    cm = "cm"
    mm = "mm"
    ref = "ref"


#: Metres per unit, for the physical units.
METRES_PER_UNIT: dict[Units, float] = {Units.m: 1.0, Units.cm: 0.01, Units.mm: 0.001}

#: Default reference bone for ``ref`` units (bones are named after their child joint).
DEFAULT_REFERENCE_BONE = "middle_mcp"

#: Plausible reference-bone length of a ``ref`` skeleton (1 for the default reference bone).
PLAUSIBLE_REFERENCE_REF = (0.2, 5.0)


def units(value) -> Units:
    """Parse a unit name (``"m"``, ``"cm"``, ``"mm"``, ``"ref"``; any case)."""
    if isinstance(value, Units):
        return value
    if isinstance(value, str) and value.strip().lower() in Units.__members__:
        return Units(value.strip().lower())
    raise UnitsError(f"unknown length unit {value!r}; use one of 'm', 'cm', 'mm' or 'ref'.")


def scale_factor(source, target) -> float:
    """The factor that converts lengths in ``source`` units into ``target`` units (physical units only)."""
    s, t = units(source), units(target)
    if s == t:
        return 1.0
    if Units.ref in (s, t):
        raise UnitsError(
            f"cannot convert between {s.value!r} and {t.value!r} by a constant factor: 'ref' lengths are "
            "relative to the reference bone. Use HandSkeleton.normalized() to go to 'ref', and "
            "HandSkeleton.denormalized(reference_length, units) to come back."
        )
    return METRES_PER_UNIT[s] / METRES_PER_UNIT[t]


def plausible_reference_range(u) -> tuple[float, float]:
    """The window of plausible reference-bone lengths in unit ``u`` (see :data:`PLAUSIBLE_REFERENCE_MM`)."""
    u = units(u)
    if u == Units.ref:
        return PLAUSIBLE_REFERENCE_REF
    f = scale_factor(Units.mm, u)
    return PLAUSIBLE_REFERENCE_MM[0] * f, PLAUSIBLE_REFERENCE_MM[1] * f


__all__ = ["Units", "METRES_PER_UNIT", "DEFAULT_REFERENCE_BONE", "units", "scale_factor", "plausible_reference_range"]
