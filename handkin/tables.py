"""Text tables: the one formatter behind every ``.table()`` of the analysis results (Markdown or plain text)."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(head: Sequence[str], rows: Sequence[Sequence[object]], markdown: bool = True) -> str:
    """``head`` and ``rows`` (cells turned to ``str``) as a Markdown table, or as left-aligned columns of
    plain text separated by two spaces when ``markdown`` is False."""
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*(str(c) for c in r)) for r in [head, *rows])


__all__ = ["format_table"]
