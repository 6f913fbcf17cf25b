"""The base of every configuration model (run sections, augmentation, dataset-reader options).

A :class:`Section` rejects unknown keys and non-finite numbers (``.inf``, ``.nan``) and is frozen; :func:`describe` turns pydantic's errors into the
``field.path: message`` text of :class:`~handkin_train.errors.ConfigError`
(:meth:`~handkin_train.config.TrainConfig.from_dict` raises it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


def describe(exc: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as ``field.path: message; …`` (``prefix`` prepended to every field path)."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (*([prefix] if prefix else []), *err["loc"]))
        problems.append(f"{loc or '(top level)'}: {err['msg']}")
    return "; ".join(problems)


class Section(BaseModel):
    """A configuration model: unknown keys and non-finite numbers (``inf``, ``nan``) are errors, instances are
    immutable (``model_copy`` to change)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


__all__ = ["Section", "describe"]
