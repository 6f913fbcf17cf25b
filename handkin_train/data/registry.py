"""The registry of dataset readers, in the manner of :func:`handkin.orders.register_order`.

A reader is a function ``read(path, **options) -> HandRecords`` and a pydantic model of its keyword options
(a :class:`ReaderOptions`; every field ``None`` by default, meaning "the reader's own default"). One call
registers both::

    class MyOptions(ReaderOptions):
        split: str | None = None
        \"\"\"train | test (default: train).\"\"\"

    register_reader("mine", read_mine, MyOptions, description="My dataset (hands.csv + images/)")

and the new kind works everywhere a kind is named: :func:`read_dataset`, :data:`DATASETS`, the run
configuration (``data.train: {kind: mine, path: …, split: test}`` — its options are checked against
``MyOptions`` when the configuration is read), the prepared caches and ``handkin-train prepare mine PATH``.
The built-in readers (FreiHAND, RHD, HO-3D, InterHand2.6M, folder) register themselves in their modules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import DatasetError
from ..schema import Section, describe

if TYPE_CHECKING:
    from .records import HandRecords


class ReaderOptions(Section):
    """The keyword options of a reader, as the run configuration and :func:`read_dataset` accept them.

    Subclass it with one field per option (default ``None``: the reader's default applies). Every reader takes
    ``check_images``."""

    check_images: bool | None = None
    """Check that the image files exist while reading (default: yes)."""

    def as_kwargs(self) -> dict[str, Any]:
        """The options given (not ``None``) as the reader's keyword arguments, paths as strings: the one
        spelling that is passed to the reader, hashed into a prepared cache's name and recorded in its manifest."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.model_dump(exclude_none=True).items()}


@dataclass(frozen=True)
class DatasetReader:
    """A registered reader: its ``name`` (the dataset kind), the function and its options model."""

    name: str
    read: Callable[..., HandRecords]
    options: type[ReaderOptions]
    description: str = ""

    @property
    def option_names(self) -> list[str]:
        return list(self.options.model_fields)

    def parse_options(self, options: Mapping[str, Any]) -> ReaderOptions:
        """``options`` checked against the reader's model (``None`` values dropped); a bad or unknown option
        raises :class:`DatasetError` naming it and the options the reader takes."""
        given = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(given) - set(self.option_names))
        if unknown:
            raise DatasetError(
                f"the {self.name} reader takes no option {', '.join(unknown)} "
                f"(it takes {', '.join(self.option_names)})."
            )
        try:
            return self.options.model_validate(given)
        except ValidationError as exc:
            raise DatasetError(f"the {self.name} reader's options: {describe(exc)}") from None


_REGISTRY: dict[str, DatasetReader] = {}


def register_reader(
    name: str,
    read: Callable[..., HandRecords],
    options: type[ReaderOptions] = ReaderOptions,
    *,
    description: str = "",
) -> DatasetReader:
    """Register ``read(path, **options)`` as dataset kind ``name`` with its options model; returns the entry."""
    key = name.lower()
    if key in _REGISTRY or key in RESERVED_KINDS:
        raise DatasetError(f"a dataset kind called {name!r} exists already.")
    if not (isinstance(options, type) and issubclass(options, ReaderOptions)):
        raise DatasetError(f"the options of reader {name!r} must be a ReaderOptions subclass, got {options!r}.")
    reader = DatasetReader(key, read, options, description)
    _REGISTRY[key] = reader
    return reader


def get_reader(name: str) -> DatasetReader:
    """The reader registered as ``name`` (case-insensitive)."""
    reader = _REGISTRY.get(str(name).lower())
    if reader is None:
        raise DatasetError(f"unknown dataset {name!r}; readers exist for: {', '.join(_REGISTRY)}.")
    return reader


def available_readers() -> list[str]:
    """The registered reader names, in the order of registration."""
    return list(_REGISTRY)


#: Dataset kinds of the run configuration that are not readers: the built-in rendered hands, a cache written by
#: ``handkin-train prepare``, and a mixture of other datasets.
RESERVED_KINDS = ("synthetic", "prepared", "mix")


def dataset_kinds() -> list[str]:
    """Every ``kind`` a dataset in the run configuration may have: ``synthetic``, the readers, ``prepared``, ``mix``."""
    return ["synthetic", *_REGISTRY, "prepared", "mix"]


class _ReaderNames(Sequence):
    """The registered reader names as a live, read-only sequence (it grows with :func:`register_reader`)."""

    def __getitem__(self, i):  # type: ignore[override]
        return tuple(_REGISTRY)[i]

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(_REGISTRY))

    def __contains__(self, name: object) -> bool:
        return name in _REGISTRY

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, (tuple, list, _ReaderNames)) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


#: The names of the registered readers (``freihand``, ``rhd``, ``ho3d``, ``interhand``, ``folder``, then any
#: registered later).
DATASETS: Sequence[str] = _ReaderNames()


def read_dataset(kind: str, path: str | os.PathLike, **options: Any) -> HandRecords:
    """Read dataset ``kind`` (one of :data:`DATASETS`) from ``path`` with the reader's own keyword options
    (``None`` values are dropped; unknown ones raise :class:`DatasetError`)."""
    reader = get_reader(kind)
    return reader.read(path, **reader.parse_options(options).model_dump(exclude_none=True))


__all__ = [
    "DATASETS",
    "RESERVED_KINDS",
    "DatasetReader",
    "ReaderOptions",
    "available_readers",
    "dataset_kinds",
    "get_reader",
    "read_dataset",
    "register_reader",
]
