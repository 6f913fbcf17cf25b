"""Shared look of the example figures (docs/img): finger colours and saving."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # off-screen: the examples run on machines without a display
import matplotlib.pyplot as plt  # noqa: E402

from handkin import Finger  # noqa: E402

#: One colour per finger, thumb first.
FINGER_COLOURS = {
    Finger.thumb: "#d62728",
    Finger.index: "#ff7f0e",
    Finger.middle: "#2ca02c",
    Finger.ring: "#1f77b4",
    Finger.little: "#9467bd",
}

#: Where the documentation's pictures live.
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


def save(fig, out: Path, dpi: int = 110) -> Path:
    """Lay out, write and close ``fig``; returns ``out``."""
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
