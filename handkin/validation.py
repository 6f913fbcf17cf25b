"""The pydantic base class of handkin's typed objects (HandSkeleton, BoneFrame, JointLimits, …).

pydantic wraps every ``ValueError`` raised by a validator into its own ``ValidationError``; this base
re-raises handkin's own errors (:mod:`handkin.errors`) unwrapped, so users see one clear error of a
documented type.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import HandkinError


def unwrap_validation_error(exc: ValidationError) -> Exception:
    """The first handkin error inside a pydantic ``ValidationError`` (or the ``ValidationError`` itself)."""
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, HandkinError):
            return inner
    return exc


class HandkinModel(BaseModel):
    """A frozen pydantic model that may hold numpy arrays or torch tensors and raises handkin errors."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise unwrap_validation_error(exc) from None


__all__ = ["HandkinModel", "unwrap_validation_error"]
