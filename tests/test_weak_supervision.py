"""benchmarks/weak_supervision.py (issue #11): the --quick run produces the whole table, and 3D labels help."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")  # handkin_train's model module imports it

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "weak_supervision.py"

ROWS = [
    "3D_A",
    "3D_A + 2D_B",
    "+ L_BL",
    "+ L_RB",
    "+ L_A (full BMC)",
    "full BMC, min/max boxes",
    "full BMC, limits fitted on A",
    "full BMC, literature limits",
    "3D_A + 3D_B (upper bound)",
    "full BMC, detached refined Ẑ_root",
    "full BMC, weights 0.01/0.01/0.001",
]
COLUMNS = ["px2d", "z", "epe", "auc", "pa", "zroot"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("weak") / "quick.json"
    table = out.with_suffix(".md")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out), "--markdown", str(table)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(out.read_text()), table.read_text(), proc.stdout


@pytest.mark.slow
def test_quick_run_has_every_row_with_finite_scores(quick):
    result, table, stdout = quick
    summary = {e["row"]: e for e in result["summary"]}
    assert list(summary) == ROWS
    for row, e in summary.items():
        assert e["n"] == 1, row
        for key in COLUMNS:
            assert math.isfinite(e[key]), (row, key, e[key])
        assert 0.0 <= e["auc"] <= 1.0
        assert e["px2d"] > 0 and e["z"] > 0 and e["epe"] >= e["pa"] > 0
    assert len(result["runs"]) == len(ROWS)
    for row in ROWS:  # the markdown table names every row, and says how it was made
        assert f"| {row} |" in table
    assert table.startswith("`python benchmarks/weak_supervision.py --quick")
    assert "domain B:" in stdout


@pytest.mark.slow
def test_quick_run_3d_labels_of_b_beat_3d_a_alone_on_depth(quick):
    summary = {e["row"]: e for e in quick[0]["summary"]}
    assert summary["3D_A + 3D_B (upper bound)"]["z"] < summary["3D_A"]["z"]


def test_rows_and_domain_b_placement():
    """Fast checks that need no training: the row ladder, and B's cameras keep right hands right hands."""
    np = pytest.importorskip("numpy")
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import weak_supervision as ws
    finally:
        sys.path.remove(str(SCRIPT.parent))
    names = [r.name for r in ws.rows(ws.PAPER_WEIGHTS)]
    assert names == ROWS[:-1]  # the extra-weights row only when its weights differ from the paper's
    assert [r.name for r in ws.rows({"bone_length": 0.01, "root_bone": 0.01, "angle": 0.001})] == ROWS
    assert sum(r.oracle for r in ws.rows(diagnostics=True)) == 3

    import handkin

    hands = ws.stand_in_b()[0][:50]
    rng = np.random.default_rng(0)
    joints, K = ws.place_b(ws.scale_hands(hands, rng), rng)
    assert np.all(joints[..., 2] > 0)
    before = handkin.HandSkeleton(hands, units="mm").numpy().measure(frames=False).joint_angles
    after = handkin.HandSkeleton(joints, units="mm").numpy().measure(frames=False).joint_angles
    assert np.allclose(before, after, atol=1e-6)  # a rigid, proper motion: every joint angle is kept
    uv = handkin.camera.project(joints, K)
    assert np.all((uv > -32) & (uv < ws.IMAGE_SIZE + 32))

    # --a-views palm: every A hand shows its palm (normal towards the camera), still the same right hand
    from handkin_train.data.synthetic import SyntheticConfig, sample_cameras, sample_poses

    config = SyntheticConfig(image_size=ws.IMAGE_SIZE)
    a_joints, _ = sample_cameras(sample_poses(200, handkin.JointLimits.default(units="ref"), rng, config), rng, config)
    turned = ws.palm_side_views(a_joints)
    away = lambda j: ws._palm_frame(j)[:, 0, 2] > 0  # noqa: E731 - palm normal pointing away from the camera
    assert away(a_joints).mean() > 0.3 and not away(turned).any()
    angles = lambda j: handkin.HandSkeleton(j, units="mm").numpy().measure(frames=False).joint_angles  # noqa: E731
    assert np.allclose(angles(a_joints), angles(turned), atol=1e-6)
