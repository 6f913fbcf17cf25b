"""benchmarks/bmc_reference.py (a plain, looped torch BMC loss written from the paper) agrees with handkin's loss,
and benchmarks/bench_losses.py --quick runs.

The benchmark scripts are imported from the benchmarks folder, which this module puts on ``sys.path``. The
reference and handkin share only the limit values, so agreement to ~1e-9 (float64) checks both against the paper.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_losses  # noqa: E402
import bmc_reference  # noqa: E402

import handkin  # noqa: E402
from handkin import BMCLoss, HandSkeleton, JointLimits  # noqa: E402
from handkin.bounds import limit_arrays  # noqa: E402
from handkin.frames import measure  # noqa: E402
from handkin.losses import bmc_terms  # noqa: E402

LIMITS = JointLimits.default()
RTOL = 1e-9


def rhd_hands() -> np.ndarray:
    d = np.load(shared_path("rhd_excerpt", "excerpt_mp21_mm.npz"))
    return np.asarray(HandSkeleton(joints=d["xyz_cam_mm"], units="mm", side=d["side"]).as_right().normalized().joints)


def posed_hands(n: int, seed: int) -> np.ndarray:
    """Right hands posed with random angles (many outside the default polygons), normalised by the reference bone."""
    rng = np.random.default_rng(seed)
    angles = np.stack([rng.uniform(-1.0, 2.6, (n, 15)), rng.uniform(-1.0, 1.0, (n, 15))], axis=-1)
    return np.asarray(handkin.posed_hand(angles).normalized().joints)


def noisy(hands: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` of ``hands`` (with replacement) plus N(0, 0.05) per coordinate: most hands violate a limit."""
    rng = np.random.default_rng(seed)
    return hands[rng.integers(0, len(hands), n)] + rng.normal(scale=0.05, size=(n, 21, 3))


def assert_close(actual, expected, what: str) -> None:
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=RTOL * max(scale, 1e-3), msg=lambda m: f"{what}: {m}")


def assert_terms_agree(joints: np.ndarray) -> None:
    x = torch.tensor(joints, dtype=torch.float64)
    ours = bmc_reference.ReferenceBMC(LIMITS).terms(x)
    theirs = bmc_terms(x, limit_arrays(LIMITS, x))
    for name in ours._fields:
        assert_close(getattr(ours, name), getattr(theirs, name), name)


def assert_gradients_agree(joints: np.ndarray) -> None:
    """Autograd through the reference == BMCLoss's backward (fed the same limit values: BMCLoss keeps float32
    buffers, so its float64 limits are the float32-rounded ones), and == bmc_terms with float64 limits."""
    module = BMCLoss(LIMITS, reduction="sum")
    x = torch.tensor(joints, dtype=torch.float64)
    for reference, handkin_loss in (
        (bmc_reference.ReferenceBMC(LIMITS, arrays=module.arrays(x)), module),
        (bmc_reference.ReferenceBMC(LIMITS), lambda j: bmc_terms(j, limit_arrays(LIMITS, j)).total.sum()),
    ):
        a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        reference.terms(a).total.sum().backward()
        handkin_loss(b).backward()
        assert float(b.grad.abs().max()) > 0
        assert_close(a.grad, b.grad, "gradient")


def test_real_hands_measures_and_terms_agree():
    """The RHD hands lie inside the default limits (all terms 0), so their measures are compared too."""
    hands = rhd_hands()
    x = torch.tensor(hands, dtype=torch.float64)
    normals, curvature, phi = bmc_reference.palm(x)
    angles = torch.stack([torch.stack(p, dim=-1) for p in bmc_reference.joint_angles(x, normals)], dim=1)
    m = measure(x, with_frames=False)
    assert_close(torch.stack(curvature, dim=-1), m.palm_curvature, "palm curvature")
    assert_close(torch.stack(phi, dim=-1), m.palm_angles, "palm angles")
    assert_close(angles, m.joint_angles, "joint angles")
    assert_terms_agree(hands)


def test_noisy_real_hands_terms_and_gradients_agree():
    hands = noisy(rhd_hands(), 64, seed=1)
    terms = bmc_reference.ReferenceBMC(LIMITS).terms(torch.tensor(hands))
    assert (terms.root_bone > 0).any() and (terms.angle > 0).double().mean() > 0.5
    assert_terms_agree(hands)
    assert_gradients_agree(hands)


@pytest.mark.parametrize("seed", [0, 1])
def test_posed_hands_terms_and_gradients_agree(seed):
    hands = posed_hands(64, seed)
    assert (bmc_reference.ReferenceBMC(LIMITS).terms(torch.tensor(hands)).angle > 0).any()
    assert_terms_agree(hands)
    assert_gradients_agree(hands)


def test_noisy_posed_hands_terms_and_gradients_agree():
    hands = noisy(posed_hands(16, seed=2), 64, seed=3)
    assert_terms_agree(hands)
    assert_gradients_agree(hands)


def test_reference_refuses_couplings():
    limits = JointLimits.default(couplings=True)
    assert limit_arrays(limits).couplings.shape[0] > 0
    with pytest.raises(ValueError, match="couplings"):
        bmc_reference.ReferenceBMC(limits)


def test_bench_losses_quick_runs(capsys):
    """A smoke run of the benchmark (one thread; no timing is checked)."""
    threads = torch.get_num_threads()
    bench_losses.main(["--quick", "--threads", "1"])
    assert torch.get_num_threads() == threads
    out = capsys.readouterr().out
    for row in ("| 1 | real | 1 |", "| 1 | noisy | 256 |", "| handkin eager |", "| reference eager |", "constrain"):
        assert row in out, row
    assert "torch " + torch.__version__ in out
