"""The ``handkin`` command behaves (issue 19, point 5): output format by suffix, one-line errors instead of
tracebacks, SIGPIPE-safe output, no torch at start-up, the umask's file modes, progress bars; and the input checks
of point 7 (``posed_hand`` refuses scalars and out-of-range angles; ``constrain`` keeps the input's backend)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import handkin
from handkin import HandSkeleton, JointLimits, cli, posed_hand
from handkin.demo import demo_sequence
from handkin.errors import FileFormatError, ShapeError, UnitsError
from handkin.files import atomic_write, temporary_folder

ROOT = Path(__file__).resolve().parents[1]
pv_needed = pytest.mark.skipif(importlib.util.find_spec("pyvista") is None, reason="pyvista not installed")


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    from handkin.io import save

    return save(demo_sequence()[::10], tmp_path_factory.mktemp("rec") / "seq.npz")


# ------------------------------------------------------------------------------------------- start-up
def test_import_and_parser_load_neither_torch_nor_heavy_packages():
    """`handkin --help` and argument errors are fast because nothing heavy is imported (no timing asserted)."""
    code = """
import json, sys
import handkin, handkin.cli
handkin.cli.build_parser()
heavy = ("torch", "scipy.spatial", "matplotlib", "pyvista", "pandas")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_lazy_package_keeps_its_public_names():
    import handkin.constrain  # the submodule import must not hide the function of the same name

    assert callable(handkin.constrain) and handkin.constrain.__module__ == "handkin.constrain"
    assert set(handkin.__all__) <= set(dir(handkin))
    namespace: dict = {}
    exec("from handkin import *", namespace)
    assert namespace["HandSkeleton"] is HandSkeleton and namespace["JointLimits"] is JointLimits
    torch = pytest.importorskip("torch")
    assert issubclass(handkin.BMCLoss, torch.nn.Module) and handkin.BMCLoss is handkin.losses.BMCLoss
    with pytest.raises(AttributeError):
        handkin.no_such_name  # noqa: B018


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "x.npz", "--out", "x.png", "--view", "camera"], "invalid choice: 'camera'"),
        (["show", "x.npz", "--out", "x.png", "--view", "nonsense"], "invalid choice: 'nonsense'"),
        (["analyze", "x.npz", "--fps", "-3"], "'-3' must be > 0"),
        (["analyze", "x.npz", "--fps", "fast"], "'fast' is not a number"),
        (["show", "x.npz", "--out", "x.gif", "--max-frames", "0"], "'0' must be ≥ 1"),
    ],
)
def test_bad_arguments_are_one_argparse_error(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_input_is_one_line_and_exit_2(recording, tmp_path, capsys):
    assert cli.main(["analyze", str(tmp_path / "missing.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("handkin analyze: error:") and "no such file" in err
    assert cli.main(["analyze", str(tmp_path)]) == 2  # a folder: unreadable as a recording
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "handkin analyze: error:" in err
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    assert cli.main(["analyze", str(tmp_path / "junk.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.npz" in err
    assert cli.main(["compare-limits", "default", str(tmp_path / "none.json")]) == 2
    assert "none.json" in capsys.readouterr().err


def test_a_bug_says_internal_error_and_how_to_get_the_traceback(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "_orders", broken)
    monkeypatch.delenv("HANDKIN_DEBUG", raising=False)
    assert cli.main(["orders"]) == 70
    err = capsys.readouterr().err
    assert "internal error" in err and "ZeroDivisionError" in err and "HANDKIN_DEBUG=1" in err
    monkeypatch.setenv("HANDKIN_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["orders"])


@pytest.mark.parametrize("args", [["orders"], ["compare-limits", "default", "default"]])
def test_output_into_a_closed_pipe_ends_quietly(args):
    """`handkin orders | head -1`: no BrokenPipeError traceback, the exit status of a SIGPIPE death (141). The
    reader's end is closed before handkin writes anything, so the broken pipe happens on every run."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone, as `head -1` does once it has its line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "handkin", *args], stdout=write_end, stderr=subprocess.PIPE, env=_env(), cwd=ROOT
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == b"", done.stderr.decode()


# ------------------------------------------------------------------------------------------- show
@pytest.mark.parametrize("name", ["out.bmp", "out", "out.PNG.txt"])
def test_show_refuses_unknown_formats_before_reading(name, tmp_path, capsys):
    assert cli.main(["show", str(tmp_path / "missing.npz"), "--out", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".png .jpg .jpeg" in err and ".gif .mp4" in err
    assert not list(tmp_path.iterdir())


@pv_needed
@pytest.mark.parametrize(("name", "magic"), [("f.png", b"\x89PNG"), ("f.jpg", b"\xff\xd8\xff")])
def test_show_writes_one_frame_in_the_suffix_format(name, magic, recording, tmp_path, capsys):
    assert cli.main(["show", str(recording), "--out", str(tmp_path / name), "--view", "side"]) == 0
    assert (tmp_path / name).read_bytes()[:4].startswith(magic)
    assert "written to" in capsys.readouterr().out


@pv_needed
@pytest.mark.parametrize(("name", "magic"), [("a.gif", b"GIF8"), ("a.mp4", b"ftyp")])
def test_show_writes_the_animation_in_the_suffix_format(name, magic, recording, tmp_path, capsys):
    pytest.importorskip("imageio")
    if name.endswith(".mp4"):
        pytest.importorskip("imageio_ffmpeg")
    assert cli.main(["show", str(recording), "--out", str(tmp_path / name), "--max-frames", "3"]) == 0
    head = (tmp_path / name).read_bytes()[:12]
    assert magic in head
    assert "animation of 3 frames" in capsys.readouterr().out


@pv_needed
def test_animate_takes_a_hand_sequence_with_its_fps_and_a_progress_bar(tmp_path, capsys):
    imageio = pytest.importorskip("imageio")
    from handkin import viz

    seq = demo_sequence()[::40]
    path = viz.animate(seq, tmp_path / "seq.gif", progress=True)
    frames = imageio.mimread(path)
    assert len(frames) == len(seq)
    assert "rendering" in capsys.readouterr().err  # the bar (tqdm writes to stderr)
    with pytest.raises(FileFormatError, match="gif or .mp4"):
        viz.animate(seq, tmp_path / "seq.avi")


@pv_needed
def test_mp4_without_imageio_ffmpeg_is_one_clear_error(recording, tmp_path, monkeypatch, capsys):
    pytest.importorskip("imageio")
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    assert cli.main(["show", str(recording), "--out", str(tmp_path / "a.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "imageio_ffmpeg" in err and "pip install imageio-ffmpeg" in err


# ------------------------------------------------------------------------------------------- file modes
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_written_files_get_the_umask_modes(umask, tmp_path):
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "a.txt", "w") as f:
            f.write("x")
        with temporary_folder(tmp_path / "report") as folder:
            mode_folder = os.stat(folder).st_mode & 0o777
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a.txt").st_mode & 0o777 == 0o666 & ~umask
    assert mode_folder == 0o777 & ~umask


def test_cli_outputs_get_the_umask_modes(recording, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", f"import os, sys; os.umask(0o022); from handkin.cli import main; "
         f"sys.exit(main(['convert', {str(recording)!r}, {str(tmp_path / 'out.csv')!r}]))"],
        capture_output=True, text=True, env=_env(), cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert os.stat(tmp_path / "out.csv").st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------------------------- point 7: input checks
@pytest.mark.parametrize("value", [90, 1.5, "90", (1, 2, 3), [[1, 2]]])
def test_posed_hand_refuses_anything_but_a_pair_per_joint(value):
    with pytest.raises(ShapeError, match=r"angles\['index_pip'\].*\(flexion, abduction\)"):
        posed_hand({"index_pip": value}, degrees=True)


def test_posed_hand_refuses_radians_that_are_degrees_and_angles_out_of_range():
    with pytest.raises(UnitsError, match=r"index_pip flexion is 90 rad .*degrees=True"):
        posed_hand({"index_pip": (90, 0)})
    with pytest.raises(UnitsError, match=r"index_pip flexion is 1000°, outside ±180°"):
        posed_hand({"index_pip": (1000, 0)}, degrees=True)
    with pytest.raises(UnitsError, match=r"little_mcp abduction is -4 rad"):
        angles = np.zeros((3, 15, 2))
        angles[1, 12, 1] = -4.0
        posed_hand(angles)
    edge = posed_hand({"index_pip": (180, -180), "thumb_cmc": (-np.pi, np.pi)}, degrees=True)
    assert np.all(np.isfinite(np.asarray(edge.joints)))
    np.testing.assert_allclose(  # in range, degrees and radians still give the same hand
        posed_hand({"index_pip": (90, 10)}, degrees=True).joints,
        posed_hand({"index_pip": (np.pi / 2, np.radians(10))}).joints,
    )


def test_posed_hand_checks_torch_angles_too():
    torch = pytest.importorskip("torch")
    with pytest.raises(UnitsError, match="degrees=True"):
        posed_hand(torch.full((15, 2), 30.0))
    hand = posed_hand(torch.full((15, 2), 0.3, dtype=torch.float32))
    assert hand.joints.dtype == torch.float32


def test_constrain_returns_the_input_backend_dtype_and_device():
    torch = pytest.importorskip("torch")
    limits = JointLimits.default()
    broken = np.asarray(posed_hand({"index_pip": (-60, 0), "little_mcp": (35, -65)}, degrees=True).joints)
    ref, _ = handkin.constrain(HandSkeleton(joints=broken, units="mm"), limits)
    assert isinstance(ref.joints, np.ndarray) and ref.joints.dtype == np.float64
    for dtype in (torch.float32, torch.float64):
        fixed, report = handkin.constrain(HandSkeleton(joints=torch.tensor(broken, dtype=dtype), units="mm"), limits)
        assert torch.is_tensor(fixed.joints) and fixed.joints.dtype == dtype and fixed.joints.device.type == "cpu"
        np.testing.assert_allclose(fixed.joints.numpy(), ref.joints, atol=1e-4)
        assert isinstance(report.displacement, np.ndarray)
    single, _ = handkin.constrain(HandSkeleton(joints=broken.astype(np.float32), units="mm"), limits)
    assert single.joints.dtype == np.float32
    with pytest.raises(UnitsError, match="HandSkeleton"):
        handkin.constrain(broken, limits)


def test_convert_refuses_an_unknown_order_for_named_columns_too(recording, tmp_path, capsys):
    assert cli.main(["convert", str(recording), str(tmp_path / "out.csv"), "--to-order", "nonsense"]) == 2
    assert "unknown joint order 'nonsense'" in capsys.readouterr().err and not (tmp_path / "out.csv").exists()


# ------------------------------------------------------------------------------------------- progress
def test_progress_bars_only_on_a_terminal_and_not_with_no_progress(monkeypatch):
    from argparse import Namespace

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli._progress(Namespace(no_progress=False)) and not cli._progress(Namespace(no_progress=True))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not cli._progress(Namespace(no_progress=False))
    for command in (["analyze", "x.npz"], ["demo"], ["show", "x.npz", "--out", "x.gif"]):
        assert cli.build_parser().parse_args([*command, "--no-progress"]).no_progress


def test_report_pictures_have_a_progress_bar(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from handkin.sequence_report import write_report
    from handkin.timeseries import analyze

    write_report(analyze(demo_sequence()[::20]), tmp_path, snapshot=False, progress=True)
    assert "pictures" in capsys.readouterr().err and (tmp_path / "angle_planes.png").exists()
