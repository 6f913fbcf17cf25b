"""Shared look of the example figures (docs/img): finger colours and saving."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # off-screen: the examples run on machines without a display
import matplotlib.pyplot as plt  # noqa: E402

# one colour per finger, thumb first: the same as in handkin.viz's 3D pictures
from handkin.viz.colors import FINGER_COLOURS  # noqa: E402

#: Where the documentation's pictures live.
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


def save(fig, out: Path, dpi: int = 110) -> Path:
    """Lay out, write and close ``fig``; returns ``out``."""
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


__all__ = ["DOCS_IMG", "FINGER_COLOURS", "plt", "save"]
