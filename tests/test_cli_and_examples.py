"""The `handkin` command and the runnable examples."""

import subprocess
import sys
from pathlib import Path

import pytest

from handkin import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str) -> str:
    """Run an example as a user would (its own folder on the path), return its output."""
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_measures_the_posed_hand(capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "little_tip" in out and "index_mcp→index_pip" in out
    assert "middle_mcp   wrist→middle_mcp            87.00   1.000" in out
    # the demo pose reads back: ring_pip was posed at 40° flexion, little_mcp at −10° abduction
    assert "ring_pip          40.0         0.0" in out and "-0.0" not in out
    assert "little_mcp        35.0       -10.0" in out
    assert "joint angles equal: True" in out
    assert "within the default (literature) joint limits: True" in out
    assert "joint_angle     index_pip" in out and "joint_angle     little_mcp" in out
    error = float(out.split("max joint error ")[1].split()[0])
    assert error < 1e-9


def test_demo_in_metres(capsys):
    assert cli.main(["demo", "--units", "m"]) == 0
    out = capsys.readouterr().out
    assert "middle_mcp   wrist→middle_mcp             0.09   1.000" in out


def test_orders_lists_positions(capsys):
    assert cli.main(["orders", "rhd"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["0", "wrist"] and lines[2].split() == ["1", "thumb_tip"]


def test_help_and_bad_subcommand():
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        cli.main(["nonsense"])
    assert exc.value.code == 2


def test_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "handkin", "orders", "mp21"], capture_output=True, text=True, check=True
    )
    assert "20 little_tip" in out.stdout


def test_quickstart_example_runs():
    out = run_example("quickstart.py")
    assert "index finger PIP bone (mm): [42.  46.2]" in out


def test_draw_measurements_example_writes_pictures(tmp_path):
    pytest.importorskip("matplotlib")
    run_example("draw_measurements.py", "--out-dir", str(tmp_path))
    from PIL import Image

    for name in ("frames.png", "angle_signs.png"):
        img = Image.open(tmp_path / name).convert("L")
        assert img.size[0] > 500 and img.getextrema()[0] < 50


def test_draw_conventions_example_writes_a_picture(tmp_path):
    pytest.importorskip("matplotlib")
    run_example("draw_conventions.py", "--out", str(tmp_path / "hand.png"))
    from PIL import Image

    img = Image.open(tmp_path / "hand.png").convert("L")
    assert img.size[0] > 500 and img.getextrema()[0] < 50  # drawn, not blank


def test_limits_workflow_example(tmp_path):
    out = run_example("limits_workflow.py", "--out-dir", str(tmp_path))
    assert "relaxed hand within the defaults: True" in out
    assert "index_pip" in out and "flexion -60.0°" in out
    tail = out.split("ring finger flexed 60° at the PIP:")[1]
    assert "joint_angle     ring_pip" in tail and "bone_length" not in tail  # only the stiff joint is violated
    assert (tmp_path / "limits.json").exists()


def test_losses_and_constrain_example():
    out = run_example("losses_and_constrain.py")
    assert "plausible after constrain: [ True  True  True]" in out
    total = out.split("total")[1].split("\n")[0]
    assert total.strip().startswith("[0. ")  # the plausible hand has zero loss, the others do not
    root_bone = out.split("root_bone")[1].split("\n")[0]
    assert root_bone.strip().startswith("[0. ") and not root_bone.strip().endswith(" 0.]")  # the reversed palm
    start, end = (float(v) for v in out.split("BMCLoss gradient descent: ")[1].split(" -> "))
    assert end < start / 100


def test_camera_and_metrics_example(tmp_path):
    pytest.importorskip("matplotlib")
    out = run_example("camera_and_metrics.py", "--out", str(tmp_path / "camera.png"))
    assert "recovered Z_root = 450.000 mm, valid=True" in out
    error = float(out.split("max joint error after the round trip: ")[1].split()[0])
    assert error < 1e-9
    rows = {
        line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line.startswith(("none", "procrustes"))
    }
    assert rows["procrustes"] < rows["none"]  # alignment removes the depth error of the noisy Z_root
    assert (tmp_path / "camera.png").stat().st_size > 10_000


def test_visualize_hands_example_writes_pictures_and_a_mesh(tmp_path):
    for package in ("pyvista", "trimesh", "matplotlib", "imageio"):
        pytest.importorskip(package)
    out = run_example("visualize_hands.py", "--img-dir", str(tmp_path), "--out", str(tmp_path), "--quick")
    assert "after constrain, within the limits: True" in out
    from PIL import Image

    for name in ("viz_hand_palm.png", "viz_hand_frames.png", "viz_camera.png", "viz_overlay_constrain.png"):
        img = Image.open(tmp_path / name).convert("L")
        assert img.size == (320, 240) and img.getextrema()[0] < 120  # drawn, not blank
    assert Image.open(tmp_path / "viz_angle_planes.png").size[0] > 500
    assert Image.open(tmp_path / "viz_sequence.gif").n_frames == 6
    assert (tmp_path / "hand.glb").stat().st_size > 1000
