"""The `handkin` command and the runnable examples."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from handkin import cli
from handkin.demo import demo_sequence

DATA = SHARED_DATA

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str) -> str:
    """Run an example as a user would (its own folder on the path), return its output."""
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_measures_the_posed_hand(capsys, tmp_path):
    assert cli.main(["demo", "--out", str(tmp_path), "--no-pictures"]) == 0
    out = capsys.readouterr().out
    assert "little_tip" in out and "index_mcp→index_pip" in out
    rows = [line.split() for line in out.splitlines()]  # the tables' cells (spacing: handkin.tables)
    assert ["middle_mcp", "wrist→middle_mcp", "87.00", "1.000"] in rows
    # the demo pose reads back: ring_pip was posed at 40° flexion, little_mcp at −10° abduction
    assert ["ring_pip", "40.0", "0.0"] in rows and "-0.0" not in out
    assert ["little_mcp", "35.0", "-10.0"] in rows
    assert "joint angles equal: True" in out
    assert "within the default (literature) joint limits: True" in out
    assert "joint_angle  index_pip" in out and "joint_angle  little_mcp" in out
    error = float(out.split("max joint error ")[1].split()[0])
    assert error < 1e-9


def test_demo_in_metres(capsys, tmp_path):
    assert cli.main(["demo", "--units", "m", "--out", str(tmp_path), "--no-pictures"]) == 0
    out = capsys.readouterr().out
    assert ["middle_mcp", "wrist→middle_mcp", "0.09", "1.000"] in [line.split() for line in out.splitlines()]


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
    assert "joint_angle  ring_pip" in tail and "bone_length" not in tail  # only the stiff joint is violated
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

    for name in ("viz_hand_palm.png", "viz_hand_frames.png", "viz_overlay_constrain.png"):
        img = Image.open(tmp_path / name).convert("L")
        assert img.size == (320, 240) and img.getextrema()[0] < 120  # drawn, not blank
    camera = Image.open(tmp_path / "viz_camera.png")  # the camera picture in a frame with pixel axes and a legend
    assert camera.size[0] > 320 and camera.size[1] > 240 and camera.convert("L").getextrema()[0] < 120
    assert Image.open(tmp_path / "viz_angle_planes.png").size[0] > 500
    assert Image.open(tmp_path / "viz_sequence.gif").n_frames == 6
    assert (tmp_path / "hand.glb").stat().st_size > 1000


# ---------------------------------------------------------------------------------------------- the analysis workflow


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A small CSV recording (the demo sequence, every 3rd frame) with one frame missing a joint."""
    from handkin.io import save

    seq = demo_sequence()[::3]
    joints = seq.joints.copy()
    joints[5, 12] = np.nan
    path = tmp_path_factory.mktemp("rec") / "hand.csv"
    return save(type(seq).from_array(joints, units="mm", fps=10.0), path)


def test_demo_writes_the_main_job_report_and_pictures(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "demo sequence (open hand → fist → pinch → spread → open" in out
    assert "frames outside the default limits: 0" in out and "index_pip 100" in out
    report = (tmp_path / "report.md").read_text()
    assert "## Range of motion" in report and "| index_pip | 0.0 |" in report
    for name in ("angles_over_time.png", "angle_planes.png", "bone_lengths.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    summary = json.loads((tmp_path / "analysis.json").read_text())["summary"]
    assert summary["frames"] == 165 and summary["frames_outside_limits"] == 0


def test_analyze_prints_and_writes_a_report(recording, tmp_path, capsys):
    assert cli.main(["analyze", str(recording), "--out", str(tmp_path), "--format", "html", "--no-pictures"]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 of 55 frame(s)" in out and "middle_tip" in out  # the bad frame is reported, not used
    assert "index_pip" in out and "No frame is outside the limits." in out
    html = (tmp_path / "report.html").read_text()
    assert "Range of motion" in html and "<table>" in html


def test_fit_limits_then_analyze_with_them(recording, tmp_path, capsys):
    out_file = tmp_path / "ana.json"
    assert cli.main(["fit-limits", str(recording), "-o", str(out_file), "--user", "ana", "--rule", "replace"]) == 0
    assert "limits written to" in capsys.readouterr().out
    assert json.loads(out_file.read_text())["provenance"]["user"] == "ana"
    assert cli.main(["compare-limits", "default", str(out_file)]) == 0
    assert "IoU" in capsys.readouterr().out
    assert cli.main(["analyze", str(recording), "--limits", str(out_file), "--smooth", "savgol"]) == 0


def test_fit_limits_says_what_the_union_did(recording, tmp_path, capsys):
    """Issue 17: `fit-limits` (rule union) gave the defaults back silently when the calibration lay inside them."""
    out_file = tmp_path / "same.json"
    exact = ["--margin", "0", "--angle-margin", "0", "--bone-tolerance", "0", "--curvature-tolerance", "0"]
    assert cli.main(["fit-limits", str(recording), "-o", str(out_file), *exact]) == 0
    assert "note: the calibration lies inside the base limits on all constraints" in capsys.readouterr().out
    assert cli.main(["fit-limits", str(recording), "-o", str(out_file), "--angle-margin", "20"]) == 0
    assert "the union widened the base at" in capsys.readouterr().out


def test_fit_limits_help_gives_the_recipe(capsys):
    with pytest.raises(SystemExit):
        cli.main(["fit-limits", "--help"])
    out = capsys.readouterr().out
    assert "recipe: calibration recording -> personal limits -> check a new recording" in out
    assert "--angle-margin DEG" in out and "(default 5)" in out


def test_convert_between_formats_orders_and_units(recording, tmp_path, capsys):
    from handkin.io import load

    target = tmp_path / "hand_rhd_m.npz"
    assert cli.main(["convert", str(recording), str(target), "--to-order", "rhd", "--to-units", "m"]) == 0
    back = load(target)
    assert back.units.value == "m" and back.fps == 10.0
    np.testing.assert_allclose(back.joints * 1000, load(recording).joints)
    raw = np.load(target)["joints"]
    np.testing.assert_allclose(raw[:, 1] * 1000, load(recording).joints[:, 4])  # RHD: thumb tip right after the wrist


def test_bad_input_gives_one_clear_error(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((4, 21, 3)) + np.arange(21)[:, None] * 0.006)
    assert cli.main(["analyze", str(tmp_path / "x.npy")]) == 2
    assert "x.npy" in capsys.readouterr().err
    assert cli.main(["analyze", str(tmp_path / "x.npy"), "--units", "mm"]) == 2
    assert "look like 'm'" in capsys.readouterr().err
    assert cli.main(["analyze", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["analyze", "fit-limits", "show", "convert", "demo", "compare-limits"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: handkin " + command in out
    if command in ("analyze", "fit-limits", "show", "convert"):
        assert "--order" in out and "--units" in out and "--side" in out


def test_show_draws_a_png_and_a_gif(recording, tmp_path, capsys):
    for package in ("pyvista", "imageio"):
        pytest.importorskip(package)
    from PIL import Image

    assert cli.main(["show", str(recording), "--out", str(tmp_path / "hand.png"), "--limits", "default"]) == 0
    assert Image.open(tmp_path / "hand.png").convert("L").getextrema()[0] < 120  # drawn, not blank
    assert cli.main(["show", str(recording), "--out", str(tmp_path / "hand.gif"), "--max-frames", "4"]) == 0
    assert 2 <= Image.open(tmp_path / "hand.gif").n_frames <= 4


@pytest.mark.shared_data
def test_analyze_the_real_mediapipe_video(tmp_path, capsys):
    path = DATA / "mediapipe_video_sequence" / "mediapipe0.10.21_on_human_hand_video.npz"
    if not path.exists():
        pytest.skip("../shared/data is absent")
    assert cli.main(["analyze", str(path), "--fps", "30", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "frames=621, 30 fps, units='m', side='right'" in out


def test_analyze_sequence_example(tmp_path):
    out = run_example("analyze_sequence.py", "--out", str(tmp_path), "--no-pictures")
    assert "frames outside the limits:" in out and (tmp_path / "report.md").exists()


def test_personalise_limits_example(tmp_path):
    out = run_example("personalise_limits.py", "--out", str(tmp_path))
    assert "within the defaults: False" in out and "within the personal limits: True" in out
    assert "new session — frames outside Cara's limits: 0 of 300" in out  # the recipe: the same person passes
    assert ["index_pip", "20", "23.6°"] in [line.split() for line in out.splitlines()]  # and the 20 frames bent beyond her range are listed
    assert (tmp_path / "limits_ana.json").exists()


@pytest.mark.slow
@pytest.mark.shared_data
def test_mediapipe_to_handkin_example(tmp_path):
    pytest.importorskip("mediapipe")
    for path in ("mediapipe_model/hand_landmarker.task", "mediapipe_video_sequence/human_hand_video.mp4"):
        if not (DATA / path).exists():
            pytest.skip(f"../shared/data/{path} is absent")
    out = run_example(
        "mediapipe_to_handkin.py", "--out", str(tmp_path), "--frames", "12", "--photos", "3", "--no-pictures"
    )
    assert "video: 12 frames of 1280×720" in out
    assert "frames=12, 10 fps, units='m', side='right'" in out  # a right hand, whatever the label
    assert (tmp_path / "report.md").exists() and "by the geometry" in out


@pytest.mark.slow
def test_docs_build_strict(tmp_path):
    """The mkdocs site (mkdocs-material + mkdocstrings) builds with --strict: no broken links or references."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("material")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "analysis" / "index.html").exists() and (
        tmp_path / "site" / "cli" / "index.html"
    ).exists()


def test_train_tiny_example(tmp_path):
    pytest.importorskip("torchvision")
    out = run_example("train_tiny.py", "--out", str(tmp_path / "run"), "--steps", "4")
    assert "(4 steps)" in out and "validation: epe_mm" in out and "one prediction: 2D error" in out
    assert (tmp_path / "run" / "last.pt").exists()
