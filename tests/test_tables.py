"""Per-frame tables (pandas, xarray, CSV/Parquet/netCDF) and the time axis of sequences: seconds vs frames, speed
units, gap filling, resampling (issue 19, points 2 and 3)."""

import sys

import numpy as np
import pytest
from conftest import SHARED_DATA

from handkin import cli, flat_hand, posed_hand
from handkin.analysis import analyze
from handkin.errors import FileFormatError, UnitsError
from handkin.io import HandSequence, load, save
from handkin.timeseries import ANGLE_NAMES

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")

VIDEO = SHARED_DATA / "mediapipe_video_sequence" / "sequence_mp21_mm.npz"


def linear_motion(frames: int = 12, fps: float | None = 30.0, times=None) -> HandSequence:
    """Every joint moves on a straight line at constant speed from an open hand to a fist (exact to interpolate)."""
    a = np.asarray(flat_hand().joints)
    b = np.asarray(posed_hand({"index_pip": (80, 0), "middle_pip": (70, 0), "ring_mcp": (40, 5)}, degrees=True).joints)
    s = np.linspace(0.0, 1.0, frames)[:, None, None]
    return HandSequence(a + s * (b - a), "mm", fps=fps, times=times, source="linear")


@pytest.fixture(scope="module")
def fist() -> HandSequence:
    angles = np.linspace(0, 1, 20)[:, None, None] * np.radians([[60.0, 5.0]] * 15)[None]
    return HandSequence.from_skeleton(posed_hand(angles, units="mm"), fps=30.0, source="fist")


# ---------------------------------------------------------------------------------------------- time units


def test_times_in_seconds_without_fps_give_seconds_and_deg_per_s():
    """Before: times given without fps were labelled 'frame' (and speeds 'deg per frame') though in seconds."""
    seq = linear_motion(fps=None, times=np.arange(12) * 0.01)
    assert (seq.time_unit, seq.speed_unit) == ("s", "deg/s")
    assert "peak_flexion_speed_deg_per_s" in analyze(seq).summary()
    bare = linear_motion(fps=None)
    assert (bare.time_unit, bare.speed_unit, bare.times[-1]) == ("frame", "deg/frame", 11.0)
    summary = analyze(bare).summary()
    assert summary["speed_unit"] == "deg/frame" and "peak_flexion_speed_deg_per_frame" in summary
    assert (linear_motion().time_unit, linear_motion()[2:5].time_unit, bare[2:5].time_unit) == ("s", "s", "frame")


def test_frame_times_cannot_come_with_an_fps():
    with pytest.raises(UnitsError, match="frames cannot come with fps=30"):
        HandSequence(linear_motion().joints, "mm", fps=30, time_unit="frame")
    with pytest.raises(UnitsError, match="time_unit must be"):
        HandSequence(linear_motion().joints, "mm", time_unit="hours")
    assert (
        HandSequence(linear_motion().joints, "mm", times=np.arange(12) + 5.0, time_unit="frames").time_unit == "frame"
    )


@pytest.mark.parametrize("suffix", [".npz", ".json", ".csv"])
def test_frame_numbered_sequences_read_back_as_frames(tmp_path, suffix):
    """Before the fix the writers stored frame numbers as times, which read back as seconds."""
    bare = linear_motion(fps=None)
    back = load(save(bare, tmp_path / f"f{suffix}"))
    assert (back.time_unit, back.fps) == ("frame", None)
    timed = load(save(linear_motion(fps=None, times=np.arange(12) * 0.02), tmp_path / f"t{suffix}"))
    assert timed.time_unit == "s" and timed.times[1] == pytest.approx(0.02)


def test_cli_speed_label_follows_the_time_column(tmp_path, capsys):
    """`handkin analyze csv_with_time_column.csv` labelled speeds per frame (before) though the times are seconds."""
    path = save(linear_motion(fps=None, times=np.arange(12) / 30.0), tmp_path / "timed.csv")
    assert cli.main(["analyze", str(path), "--no-progress"]) == 0
    timed = capsys.readouterr().out
    assert "peak flexion speed deg per s" in timed and "deg per frame" not in timed
    assert cli.main(["analyze", str(path), "--no-progress", "--fps", "30"]) == 0
    assert "peak flexion speed deg per s" in capsys.readouterr().out
    bare = save(linear_motion(fps=None), tmp_path / "bare.csv")
    assert cli.main(["analyze", str(bare), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "peak flexion speed deg per frame" in out and "deg/frame" in out


# ---------------------------------------------------------------------------------------------- gaps


def knocked(seq: HandSequence, frames, joints=slice(None)) -> HandSequence:
    j = seq.joints.copy()
    j[frames, joints] = np.nan
    return HandSequence(j, seq.units, seq.fps, seq.side, None if seq.fps else seq.times, seq.source, (), seq.time_unit)


def test_a_two_frame_gap_in_a_linear_motion_is_filled_exactly():
    truth = linear_motion(frames=30)
    filled = knocked(truth, slice(10, 12)).fill_gaps()
    np.testing.assert_allclose(filled.joints, truth.joints, atol=1e-9)
    assert filled.valid.all() and "2 frame(s) became complete" in " ".join(filled.notes)


def test_a_three_frame_gap_is_0_1_s_at_30_fps_and_filled_by_default():
    truth = linear_motion(frames=30)
    filled = knocked(truth, slice(10, 13)).fill_gaps()
    np.testing.assert_allclose(filled.joints, truth.joints, atol=1e-9)


def test_a_gap_longer_than_max_stays_missing_and_is_reported():
    truth = linear_motion(frames=30)
    gappy = knocked(truth, slice(10, 15))  # 5 frames = 0.167 s
    filled = gappy.fill_gaps()
    assert np.isnan(filled.joints[10:15]).all() and filled.valid[:10].all() and filled.valid[15:].all()
    assert "frames 10–14 (0.167 s)" in " ".join(filled.notes)
    np.testing.assert_allclose(gappy.fill_gaps(0.2).joints, truth.joints, atol=1e-9)
    np.testing.assert_allclose(gappy.fill_gaps(max_frames=5).joints, truth.joints, atol=1e-9)
    assert np.isnan(gappy.fill_gaps(max_frames=4).joints[10:15]).all()


def test_gaps_at_the_ends_are_not_extrapolated_and_partial_frames_keep_their_joints():
    truth = linear_motion(frames=30)
    gappy = knocked(truth, [0, 1, 29])
    filled = gappy.fill_gaps()
    assert np.isnan(filled.joints[[0, 1, 29]]).all()
    assert "at the start" in " ".join(filled.notes) and "at the end" in " ".join(filled.notes)
    partial = knocked(truth, slice(5, 25), [8])  # index_tip missing for 20 frames: too long
    partial = knocked(partial, slice(3, 5), [4])  # thumb_tip missing 2 frames: filled
    out = partial.fill_gaps()
    np.testing.assert_allclose(out.joints[3:5, 4], truth.joints[3:5, 4], atol=1e-9)
    assert np.isnan(out.joints[5:25, 8]).all()
    np.testing.assert_array_equal(out.joints[5:25, :8], partial.joints[5:25, :8])


def test_frame_numbered_sequences_fill_up_to_three_frames():
    truth = linear_motion(frames=30, fps=None)
    np.testing.assert_allclose(knocked(truth, slice(10, 13)).fill_gaps().joints, truth.joints, atol=1e-9)
    assert np.isnan(knocked(truth, slice(10, 14)).fill_gaps().joints[10:14]).all()
    with pytest.raises(UnitsError, match="max_gap=0.1 is in seconds.*max_frames"):
        knocked(truth, slice(10, 13)).fill_gaps(0.1)
    with pytest.raises(UnitsError, match="max_gap must be a positive number"):
        knocked(linear_motion(), [3]).fill_gaps(-1)


def test_fill_gaps_on_uneven_times_uses_the_time_between_neighbours():
    times = np.cumsum(np.r_[0.0, np.full(9, 0.01), 0.5, np.full(9, 0.01)])  # one 0.5 s hole in the timestamps
    seq = linear_motion(frames=20, fps=None, times=times)
    assert np.isnan(knocked(seq, [10]).fill_gaps().joints[10]).all()  # 0.5 s + 0.01 s without data
    np.testing.assert_allclose(knocked(seq, [5]).fill_gaps().joints, seq.joints, atol=1e-9)


# ---------------------------------------------------------------------------------------------- resampling


def test_resampling_a_30_fps_ramp_to_60_fps_is_exact():
    seq = linear_motion(frames=31)
    up = seq.resample(60)
    assert (len(up), up.fps, up.time_unit) == (61, 60.0, "s")
    np.testing.assert_allclose(up.times, np.arange(61) / 60, atol=1e-12)
    truth = linear_motion(frames=61, fps=60.0)
    np.testing.assert_allclose(up.joints, truth.joints, atol=1e-9)
    down = seq.resample(10)
    np.testing.assert_allclose(down.joints, seq.joints[::3], atol=1e-9)
    assert "resampled from 30 fps (31 frames) to 60 fps (61 frames)" in up.notes[-1]


def test_resampling_keeps_missing_missing_and_never_extrapolates():
    seq = knocked(linear_motion(frames=31), [10])
    up = seq.resample(60)
    assert np.isnan(up.joints[19:22]).all() and up.valid[:19].all() and up.valid[22:].all()
    odd = linear_motion(frames=10, fps=None, times=np.arange(10) * 0.1 + 0.05)
    assert odd.resample(3).times[-1] <= odd.times[-1] and odd.resample(3).times[0] == 0.05
    with pytest.raises(UnitsError, match="needs the times in seconds"):
        linear_motion(fps=None).resample(60)
    with pytest.raises(UnitsError, match="fps must be a positive number"):
        linear_motion().resample(0)


# ---------------------------------------------------------------------------------------------- tables


def test_analysis_long_table_holds_the_analysis_arrays(fist):
    result = analyze(knocked(fist, [4]))
    df = result.to_dataframe()
    assert len(df) == 20 * 15 and list(df.columns) == [
        "frame", "time_s", "side", "valid", "frame_in_limits", "joint", "flexion_deg", "abduction_deg",
        "flexion_velocity_deg_s", "abduction_velocity_deg_s", "excess_deg", "in_limits",
    ]  # fmt: skip
    np.testing.assert_allclose(df["flexion_deg"].to_numpy().reshape(20, 15), np.degrees(result.angles[..., 0]))
    np.testing.assert_allclose(
        df["abduction_velocity_deg_s"].to_numpy().reshape(20, 15), np.degrees(result.velocities[..., 1])
    )
    np.testing.assert_allclose(df["excess_deg"].to_numpy().reshape(20, 15), result.violations.joint_angles)
    assert df["joint"].tolist()[:15] == list(ANGLE_NAMES) and df["time_s"].iloc[15] == pytest.approx(1 / 30)
    bad = df[df["frame"] == 4]
    assert (~bad["valid"]).all() and bad["flexion_deg"].isna().all() and (~bad["in_limits"]).all()
    wide = result.to_dataframe(form="wide")
    assert wide.shape == (20, 5 + 15 * 6)
    np.testing.assert_allclose(wide["index_pip_flexion_deg"], np.degrees(result.angles[:, 4, 0]))


def test_frame_numbered_tables_say_per_frame():
    df = analyze(linear_motion(fps=None)).to_dataframe()
    assert {"time_frame", "flexion_velocity_deg_frame"} <= set(df.columns) and "time_s" not in df.columns
    ds = analyze(linear_motion(fps=None)).to_xarray()
    assert (ds.attrs["time_unit"], ds["angular_velocity"].attrs["units"]) == ("frames", "deg/frame")
    assert "fps" not in ds.attrs


def test_sequence_tables(fist):
    df = fist.to_dataframe()
    assert list(df.columns) == ["frame", "time_s", "side", "valid", "joint", "flexion_deg", "abduction_deg"]
    np.testing.assert_allclose(df["flexion_deg"].to_numpy().reshape(20, 15), np.degrees(fist.joint_angles()[..., 0]))
    pos = fist.to_dataframe("positions")
    assert len(pos) == 20 * 21 and pos["keypoint"].iloc[8] == "index_tip"
    np.testing.assert_array_equal(pos["y_mm"].to_numpy().reshape(20, 21), fist.joints[..., 1])
    with pytest.raises(ValueError, match="kind must be"):
        fist.to_dataframe("bones")


def test_xarray_dataset_follows_movement_layout(fist):
    result = analyze(fist)
    ds = result.to_xarray()
    assert ds["position"].dims == ("time", "space", "keypoints", "individuals")
    assert ds["confidence"].dims == ("time", "keypoints", "individuals")
    assert ds["angles"].dims == ("time", "joint", "angle") and list(ds["angle"].values) == ["flexion", "abduction"]
    assert {k: ds.attrs[k] for k in ("fps", "time_unit", "source_software", "ds_type", "units")} == {
        "fps": 30.0, "time_unit": "seconds", "source_software": "handkin", "ds_type": "poses", "units": "mm",
    }  # fmt: skip
    np.testing.assert_allclose(ds["time"], fist.times)
    np.testing.assert_array_equal(ds["position"].sel(keypoints="index_tip", individuals="hand"), fist.joints[:, 8])
    np.testing.assert_allclose(ds["angles"].sel(joint="index_pip", angle="flexion"), np.degrees(result.angles[:, 4, 0]))
    np.testing.assert_allclose(ds["angular_velocity"], np.degrees(result.velocities))
    assert ds["angular_velocity"].attrs["units"] == "deg/s"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_files_round_trip(fist, tmp_path, suffix):
    result = analyze(knocked(fist, [3]))
    path = result.write_table(tmp_path / f"angles{suffix}")
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    df = result.to_dataframe()
    assert list(back.columns) == list(df.columns) and len(back) == len(df)
    for col in df.columns:
        if df[col].dtype.kind == "f":
            np.testing.assert_allclose(back[col].to_numpy(), df[col].to_numpy(), rtol=0, atol=0)
        else:
            assert back[col].astype(str).tolist() == df[col].astype(str).tolist(), col


def test_netcdf_round_trip(fist, tmp_path):
    result = analyze(fist)
    path = result.write_table(tmp_path / "angles.nc")
    with xr.open_dataset(path) as back:
        ds = result.to_xarray()
        for name in ("position", "angles", "angular_velocity", "excess", "bone_length"):
            np.testing.assert_array_equal(back[name].values, ds[name].values)
        np.testing.assert_array_equal(back["in_limits"].values, ds["in_limits"].values)
        assert back.attrs["fps"] == 30.0 and back.attrs["time_unit"] == "seconds"
        assert list(back["joint"].values) == list(ANGLE_NAMES)


def test_bad_table_suffix_and_missing_pandas(fist, tmp_path, monkeypatch):
    with pytest.raises(FileFormatError, match=r"\.csv, \.parquet or \.nc"):
        analyze(fist).write_table(tmp_path / "angles.xlsx")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'handkin\[tables\]'"):
        fist.to_dataframe()


def test_cli_table_fill_gaps_and_resample(tmp_path, capsys):
    path = save(knocked(linear_motion(frames=31), slice(10, 12)), tmp_path / "gappy.npz")
    out = tmp_path / "angles.csv"
    argv = ["analyze", str(path), "--no-progress", "--fill-gaps", "--resample", "60", "--table", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "fill_gaps: " in text and "resampled from 30 fps" in text and f"table written to {out}" in text
    df = pd.read_csv(out)
    assert len(df) == 61 * 15 and df["valid"].all()
    assert cli.main(["analyze", str(path), "--table", str(tmp_path / "t.xlsx")]) == 2
    assert ".csv, .parquet or .nc" in capsys.readouterr().err
    assert cli.main(["analyze", str(path), "--fill-gaps", "soon"]) == 2
    assert "--fill-gaps takes seconds" in capsys.readouterr().err
    assert cli.main(["analyze", str(path), "--no-progress", "--fill-gaps", "1f"]) == 0
    out_1f = capsys.readouterr().out
    assert "1 gap(s) left missing (longer than 1 frame(s)" in out_1f and "frames 10–11" in out_1f
    assert "invalid_frames=2" in out_1f


@pytest.mark.skipif(not VIDEO.exists(), reason="shared data absent")
def test_gap_filling_on_the_real_video_sequence():
    seq = load(VIDEO)
    gappy = knocked(seq, [100, 101, 200, 201, 202])
    filled = gappy.fill_gaps()
    assert filled.valid.all()
    error = np.linalg.norm(filled.joints - seq.joints, axis=-1)[[100, 101, 200, 201, 202]]
    assert np.median(error) < 10.0  # mm; the tracker itself jitters by millimetres between frames
