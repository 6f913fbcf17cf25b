"""Progress bars: the one place that builds them (tqdm, a core dependency).

``progress(total=n, desc=..., enabled=...)`` returns a tqdm bar, or a no-op bar with the same
``update``/``close``/context-manager interface when disabled, so callers never branch on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm


class _Silent:
    """A disabled bar: accepts every call tqdm's bar does that callers here use."""

    def __init__(self, iterable: Iterable | None = None) -> None:
        self._iterable = iterable

    def __iter__(self) -> Iterator:
        return iter(self._iterable if self._iterable is not None else ())

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool = True,
    leave: bool = False,
) -> Any:
    """A progress bar over ``iterable`` (or a manual one of ``total`` steps); silent when not ``enabled``."""
    if not enabled:
        return _Silent(iterable)
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, dynamic_ncols=True)


__all__ = ["progress"]
