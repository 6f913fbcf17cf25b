"""handkin.viz: off-screen scenes, the pinhole-camera view, animations, meshes, angle-plane plots, lazy imports."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

import handkin
from handkin import AngleJoint, Finger, HandSkeleton, Joint
from handkin.errors import ShapeError
from handkin.viz import colors
from handkin.viz.geometry import JOINT_RADIUS, unit_sphere

POSE = {
    "thumb_mcp": (20, 0), "index_pip": (30, 0), "middle_mcp": (20, 0),
    "ring_pip": (45, 0), "little_mcp": (10, -10),
}  # fmt: skip
TIPS = [Joint.thumb_tip, Joint.index_tip, Joint.middle_tip, Joint.ring_tip, Joint.little_tip]
FINGER_RGB = np.stack([colors.rgb(colors.FINGER_COLOURS[f]) for f in Finger])


def finger_of_pixels(pixels: np.ndarray) -> np.ndarray:
    """Per RGB pixel ``(..., 3)`` uint8 the finger whose colour it shows (shading only scales a colour,
    so compare directions), or -1 for background, grey and other colours."""
    p = pixels.astype(float) / 255.0
    norm = np.linalg.norm(p, axis=-1, keepdims=True)
    cosine = (p / np.maximum(norm, 1e-9)) @ (FINGER_RGB / np.linalg.norm(FINGER_RGB, axis=1, keepdims=True)).T
    best = cosine.argmax(axis=-1)
    chroma = p.max(axis=-1) - p.min(axis=-1)
    return np.where((cosine.max(axis=-1) > 0.985) & (chroma > 0.15), best, -1)


def hand_in_camera() -> tuple[HandSkeleton, np.ndarray, tuple[int, int]]:
    """A posed right hand ~400 mm in front of a pinhole camera (palm towards it, fingers up), K, image size."""
    joints = np.asarray(handkin.posed_hand(POSE, degrees=True).joints) * [-1, -1, 1] + [10, 90, 400]
    K = np.array([[320.0, 0.0, 163.5], [0.0, 310.0, 118.2], [0.0, 0.0, 1.0]])
    return HandSkeleton(joints=joints, units="mm"), K, (320, 240)


def project(K: np.ndarray, points: np.ndarray) -> np.ndarray:
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:]


# ------------------------------------------------------------------------------------------- imports
def test_importing_handkin_loads_no_plotting_package():
    code = """
import json, sys
import handkin
after_handkin = sorted(m for m in ("handkin.viz", "pyvista", "trimesh", "matplotlib", "vtk") if m in sys.modules)
import handkin.viz
from handkin.viz import colors
after_viz = sorted(m for m in ("pyvista", "trimesh", "matplotlib", "vtk") if m in sys.modules)
from handkin.viz import plot_angle_planes
after_plot = sorted(m for m in ("pyvista", "trimesh", "vtk") if m in sys.modules)
print(json.dumps([after_handkin, after_viz, after_plot, "matplotlib" in sys.modules]))
"""
    pytest.importorskip("matplotlib")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after_handkin, after_viz, after_plot, has_mpl = json.loads(done.stdout.strip().splitlines()[-1])
    assert after_handkin == [] and after_viz == [] and after_plot == []
    assert has_mpl  # the angle plots loaded matplotlib, and only that


@pytest.mark.parametrize(
    ("module", "package"), [("scene", "pyvista"), ("mesh", "trimesh"), ("angle_plot", "matplotlib")]
)
def test_a_missing_package_names_the_extra(monkeypatch, module, package):
    monkeypatch.delitem(sys.modules, f"handkin.viz.{module}", raising=False)
    monkeypatch.setitem(sys.modules, package if package != "matplotlib" else "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'handkin\[viz\]'"):
        importlib.import_module(f"handkin.viz.{module}")


# ------------------------------------------------------------------------------------------- geometry (numpy)
def test_unit_sphere_is_closed_outward_and_has_exact_bounds():
    vertices, faces = unit_sphere(16)
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    volume = np.sum(np.einsum("ij,ij->i", a, np.cross(b, c))) / 6
    assert 0.9 * 4 / 3 * np.pi < volume < 4 / 3 * np.pi  # positive: faces wind outwards
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert np.all(counts == 2)  # closed
    assert np.allclose(vertices.min(0), -1) and np.allclose(vertices.max(0), 1)


def test_violation_colours_run_from_grey_to_red():
    rgb = colors.violation_rgb(np.array([0.0, 5.0, 10.0, 50.0]), vmax=10.0)
    assert np.allclose(rgb[0], colors.rgb(colors.VIOLATION_COLOURS[0]))
    assert np.allclose(rgb[2], colors.rgb(colors.VIOLATION_COLOURS[-1])) and np.allclose(rgb[3], rgb[2])
    assert rgb[1, 1] > rgb[2, 1]  # greener (yellower) half-way


# ------------------------------------------------------------------------------------------- pyvista scenes
pv_needed = pytest.mark.skipif(importlib.util.find_spec("pyvista") is None, reason="pyvista not installed")


@pv_needed
def test_screenshot_is_written_and_shows_every_finger(tmp_path):
    from PIL import Image

    from handkin import viz

    image = viz.render(handkin.posed_hand(POSE, degrees=True), tmp_path / "hand.png", window_size=(320, 240))
    saved = np.asarray(Image.open(tmp_path / "hand.png").convert("RGB"))
    assert saved.shape == (240, 320, 3) and np.array_equal(saved, image)
    assert image.std() > 20
    fingers = finger_of_pixels(image)
    counts = [(fingers == f).sum() for f in Finger]
    assert min(counts) > 50, counts  # every finger drawn in its own colour
    assert (image.sum(-1) == 765).mean() > 0.5  # on a white background


@pv_needed
def test_camera_view_puts_joints_on_their_pixels(tmp_path):
    from handkin import viz

    hand, K, size = hand_in_camera()
    # small spheres (2.5 mm ≈ 2 px at 400 mm) so that the check is sharp
    image = viz.render(hand, view="camera", K=K, image_size=size, radius=2.5, palm=False)
    assert image.shape == (size[1], size[0], 3)
    joints = np.asarray(hand.joints)
    checked = [*TIPS, Joint.index_pip, Joint.little_dip]
    for joint, uv in zip(checked, project(K, joints[checked]), strict=True):
        assert nearest_pixel_of(image, uv, joint.finger) <= 1.5, joint.name
    # the same hand moved 4 px sideways in the image misses: the test can fail
    shifted = viz.render(joints + [400 * 4 / 320, 0, 0], view="camera", K=K, image_size=size, radius=2.5)
    uv = project(K, joints[[Joint.middle_tip]])[0]
    assert nearest_pixel_of(shifted, uv, Finger.middle) > 1.5


def nearest_pixel_of(image: np.ndarray, uv: np.ndarray, finger: Finger, window: int = 6) -> float:
    """Distance (px) from the pixel position ``uv`` (pixel centres at integers) to the nearest pixel showing
    ``finger``'s colour within ``window`` px (inf if none)."""
    c, r = (int(round(x)) for x in uv)
    patch = finger_of_pixels(image[r - window : r + window + 1, c - window : c + window + 1])
    rows, cols = np.nonzero(patch == int(finger))
    if len(rows) == 0:
        return float("inf")
    return float(np.min(np.hypot(rows + r - window - uv[1], cols + c - window - uv[0])))


@pv_needed
@pytest.mark.parametrize("side", ["right", "left"])
def test_palm_and_back_views_mirror_each_other(side):
    from handkin import viz

    hand = handkin.posed_hand(POSE, degrees=True, side=side)
    centre = {}
    for view in ("palm", "back"):
        image = viz.render(hand, view=view, window_size=(200, 150), palm=False)
        cols = np.nonzero(finger_of_pixels(image) == Finger.thumb)[1]
        little = np.nonzero(finger_of_pixels(image) == Finger.little)[1]
        centre[view] = cols.mean() - little.mean()
    # a right palm seen from the front has its thumb on the right; the back view (and a left palm) mirror it
    expected = 1 if side == "right" else -1
    assert np.sign(centre["palm"]) == expected and np.sign(centre["back"]) == -expected


@pv_needed
def test_overlay_coloured_by_violations_has_legend_and_colour_bars():
    from handkin import viz

    hand, K, size = hand_in_camera()
    bad_local = handkin.posed_hand({**POSE, "index_pip": (-50, 0)}, degrees=True)
    bad = HandSkeleton(joints=np.asarray(bad_local.joints) * [-1, -1, 1] + [10, 90, 400], units="mm")
    limits = handkin.JointLimits.default()
    fixed, _ = handkin.constrain(bad, limits)
    assert not limits.check(bad).ok and limits.check(fixed).ok
    plotter = viz.plot_hands(
        [bad, fixed], labels=["before", "after"], color=["violations", "#1f77b4"], radius=[None, 3.0],
        limits=limits, view="camera", K=K, image_size=size, off_screen=True,
    )  # fmt: skip
    try:
        assert plotter.legend is not None
        assert {"angle over\nlimit (deg)", "bone length\nover limit (mm)"} <= set(plotter.scalar_bars.keys())
        image = np.asarray(plotter.screenshot(return_img=True))[..., :3]
    finally:
        plotter.close()
    joints = np.asarray(bad.joints)
    (u, v), (uw, vw) = project(K, joints[[Joint.index_pip, Joint.wrist]])
    worst = colors.rgb(colors.VIOLATION_COLOURS[-1])
    patch = image[int(round(v)) - 2 : int(round(v)) + 3, int(round(u)) - 2 : int(round(u)) + 3] / 255.0
    direction = patch / np.linalg.norm(patch, axis=-1, keepdims=True)
    assert (direction @ (worst / np.linalg.norm(worst)) > 0.98).sum() >= 5  # the bent-back PIP in dark red
    wrist = image[int(round(vw)), int(round(uw))].astype(float)
    assert wrist.max() - wrist.min() < 25  # a joint within the limits stays grey


@pv_needed
def test_views_and_inputs_are_checked(monkeypatch):
    from handkin import viz

    hand = handkin.posed_hand()
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("DISPLAY", raising=False)
        with pytest.raises(RuntimeError, match="no display"):
            viz.show(hand)
    with pytest.raises(ValueError, match="view='camera' needs K"):
        viz.render(hand, view="camera")
    with pytest.raises(ValueError, match="unknown view"):
        viz.render(hand, view="top")
    with pytest.raises(ShapeError):
        viz.render(np.zeros((21, 2)))


# ------------------------------------------------------------------------------------------- animations
def _sequence(frames: int) -> HandSkeleton:
    angles = np.zeros((frames, 15, 2))
    angles[:, 3:, 0] = np.linspace(0.0, 1.2, frames)[:, None]
    return handkin.posed_hand(angles)


@pv_needed
def test_gif_has_one_frame_per_pose(tmp_path):
    pytest.importorskip("imageio")
    from PIL import Image

    from handkin import viz

    path = viz.animate(_sequence(6), tmp_path / "seq.gif", fps=5, window_size=(160, 120), view="side")
    gif = Image.open(path)
    assert gif.n_frames == 6
    first = np.asarray(gif.convert("RGB"))
    gif.seek(5)
    last = np.asarray(gif.convert("RGB"))
    assert first.shape == (120, 160, 3) and np.abs(first.astype(int) - last).mean() > 1  # the fingers moved


@pv_needed
def test_mp4_has_one_frame_per_pose_or_a_clear_error(tmp_path, monkeypatch):
    from handkin import viz

    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        import imageio.v3 as iio

        path = viz.animate(_sequence(4), tmp_path / "seq.mp4", window_size=(160, 120), time_label=None)
        assert sum(1 for _ in iio.imiter(path)) == 4
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(ImportError, match="imageio_ffmpeg.*pip install imageio-ffmpeg"):
        viz.animate(_sequence(2), tmp_path / "no.mp4")
    with pytest.raises(ValueError, match="gif or .mp4"):
        viz.animate(_sequence(2), tmp_path / "seq.avi")


# ------------------------------------------------------------------------------------------- meshes
@pytest.mark.parametrize("suffix", [".glb", ".ply", ".obj"])
def test_exported_mesh_reloads_with_the_hand_bounds_and_finger_colours(tmp_path, suffix):
    trimesh = pytest.importorskip("trimesh")
    from handkin import viz

    hands = handkin.posed_hand(np.random.default_rng(1).uniform(-0.2, 0.9, (2, 15, 2)))
    radius = 6.0
    path = viz.export_mesh(hands, tmp_path / f"hands{suffix}", radius=radius)
    mesh = trimesh.load(path, force="mesh")
    joints = np.asarray(hands.joints).reshape(-1, 3)
    assert np.allclose(mesh.bounds, [joints.min(0) - radius, joints.max(0) + radius], atol=1e-3)
    found = {tuple(c) for c in np.asarray(mesh.visual.vertex_colors)[:, :3]}
    assert {tuple(np.round(255 * c).astype(int)) for c in FINGER_RGB} <= found


def test_mesh_sizes_follow_the_units_and_inputs_may_be_torch():
    pytest.importorskip("trimesh")
    from handkin import viz

    hand = handkin.posed_hand(POSE, degrees=True)
    in_mm = viz.hand_mesh(hand)
    joints = np.asarray(hand.joints)
    radius = JOINT_RADIUS * 87.0  # default: a fraction of the wrist→middle_mcp bone (87 mm in the template)
    assert np.allclose(in_mm.bounds, [joints.min(0) - radius, joints.max(0) + radius])
    in_m = viz.hand_mesh(hand.to_units("m"))
    assert np.allclose(in_m.vertices * 1000, in_mm.vertices)  # radii scale with the hand
    assert np.allclose(viz.hand_mesh(hand, to_units="m").vertices, in_m.vertices)
    batch = viz.hand_mesh(np.stack([np.asarray(hand.joints)] * 3))
    assert len(batch.vertices) == 3 * len(in_mm.vertices)
    torch = pytest.importorskip("torch")
    from_torch = viz.hand_mesh(torch.tensor(np.asarray(hand.joints), requires_grad=True))
    assert np.allclose(from_torch.vertices, in_mm.vertices)


# ------------------------------------------------------------------------------------------- angle planes
def _angle_data(n: int = 300) -> HandSkeleton:
    rng = np.random.default_rng(0)
    flexion = rng.uniform(-10, 90, (n, 15))
    abduction = rng.uniform(-1, 1, (n, 15)) * (22 - 0.18 * flexion)
    return handkin.posed_hand(np.stack([flexion, abduction], axis=-1), degrees=True)


def test_angle_plane_grid_draws_each_joints_polygon_and_box():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from handkin import viz

    data = _angle_data()
    limits = handkin.JointLimits.default()
    fig = viz.plot_angle_planes(limits, data)
    try:
        assert len(fig.axes) == 15
        angles = np.degrees(np.asarray(data.joint_angles))
        for a in AngleJoint:
            ax = fig.axes[(int(a) % 3) * 5 + int(a.finger)]
            assert ax.get_title() == a.name
            (polygon,) = [p for p in ax.patches if p.get_gid() == "limits_polygon"]
            assert np.allclose(polygon.get_xy()[:-1], np.degrees(limits.joint_angles[a.name].array))
            (box,) = [p for p in ax.patches if p.get_gid() == "minmax_box"]
            lo, hi = angles[:, a].min(0), angles[:, a].max(0)
            assert np.allclose([box.get_x(), box.get_y()], lo) and np.allclose(
                [box.get_width(), box.get_height()], hi - lo
            )
            (points,) = [c for c in ax.collections if c.get_gid() == "data"]
            assert np.allclose(points.get_offsets(), angles[:, a])
    finally:
        plt.close(fig)


def test_single_angle_plane_from_limits_alone_boxes_the_polygon():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from handkin import viz

    limits = handkin.JointLimits.fit(_angle_data(), units="ref")
    ax = viz.plot_angle_plane("pinky_mcp", limits)
    try:
        vertices = np.degrees(limits.joint_angles["little_mcp"].array)
        (polygon,) = [p for p in ax.patches if p.get_gid() == "limits_polygon"]
        assert np.allclose(polygon.get_xy()[:-1], vertices)
        (box,) = [p for p in ax.patches if p.get_gid() == "minmax_box"]
        assert np.allclose([box.get_x(), box.get_y()], vertices.min(0))
        assert ax.get_title() == "little_mcp" and ax.get_xlabel() == "flexion (°)"
    finally:
        plt.close(ax.figure)


def test_render_then_torchvision_in_one_process(tmp_path):
    """VTK's llvmpipe and triton's LLVM in one process: rendering first, then importing torchvision and
    building the network, used to die with SIGSEGV (run in a subprocess so a crash fails only this test)."""
    pytest.importorskip("torchvision")
    code = (
        "import handkin, handkin.viz as viz\n"
        f"viz.render(handkin.flat_hand(), {str(tmp_path / 'a.png')!r})\n"
        "import torchvision\n"
        "from handkin_train.config import ModelConfig\n"
        "from handkin_train.model import HandPoseNet\n"
        "HandPoseNet(ModelConfig(backbone='resnet18', image_size=64))\n"
        "print('alive')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "alive" in done.stdout, (done.returncode, done.stderr[-2000:])
