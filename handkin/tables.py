"""Text tables: the one formatter behind every table handkin prints or writes (Markdown or plain text).

Every ``.table()`` of the analysis results, the limits report, the metrics, the joint angles, the demo's
printout and the training log go through :func:`format_table`, so that their columns line up the same way:
plain text has columns separated by two spaces, numbers right-aligned and everything else left-aligned.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence


def _is_number(cell: object) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, numbers.Number):
        return True
    text = str(cell).strip().rstrip("%°")
    try:
        float(text)
    except ValueError:
        return False
    return True


def _alignments(head: Sequence[str], rows: Sequence[Sequence[object]], align: str | Sequence[str] | None) -> list[str]:
    """``"<"`` or ``">"`` per column: ``align`` (one for all, or one per column), or by the cells (None)."""
    if isinstance(align, str):
        align = [align] * len(head)
    if align is None:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in head]
        align = [">" if col and all(_is_number(c) or str(c) == "" for c in col) else "<" for col in columns]
    align = list(align)
    if len(align) != len(head) or any(a not in ("<", ">") for a in align):
        raise ValueError(f"align needs '<' or '>' for each of the {len(head)} columns, got {align!r}.")
    return align


def format_table(
    head: Sequence[str],
    rows: Sequence[Sequence[object]],
    markdown: bool = True,
    *,
    align: str | Sequence[str] | None = None,
    min_width: int = 0,
) -> str:
    """``head`` and ``rows`` (cells turned to ``str``; every row as long as ``head``) as a Markdown table, or
    as plain-text columns separated by two spaces when ``markdown`` is False.

    Plain text: ``align`` — ``"<"`` (left) or ``">"`` (right) for every column, one per column, or None for
    numbers right and text left — and ``min_width`` (characters per column, e.g. to keep the columns of rows
    printed one at a time under one header); trailing spaces are dropped."""
    head = [str(h) for h in head]
    cells = [[str(c) for c in r] for r in rows]
    for i, r in enumerate(cells):
        if len(r) != len(head):
            raise ValueError(f"table row {i} has {len(r)} cells for {len(head)} columns: {r!r}.")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    aligns = _alignments(head, rows, align)
    widths = [max([min_width, len(h)] + [len(r[k]) for r in cells]) for k, h in enumerate(head)]
    return "\n".join(
        "  ".join(f"{c:{a}{w}}" for c, a, w in zip(r, aligns, widths, strict=True)).rstrip() for r in [head, *cells]
    )


__all__ = ["format_table"]
