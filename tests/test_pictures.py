"""Pictures worth putting in a paper (issue 19, point 6): titles, finger legends, framing with margins, labels
that do not overlap, finger colours kept in violation views, 'constant' at the noise floor, GIF size."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

import handkin
from handkin import Finger, HandSkeleton, Joint
from handkin.demo import demo_sequence
from handkin.io import HandSequence
from handkin.timeseries import analyze

pv_needed = pytest.mark.skipif(importlib.util.find_spec("pyvista") is None, reason="pyvista not installed")
mpl_needed = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib not installed")

RELAXED = {
    "thumb_cmc": (3, 10), "thumb_mcp": (6, 0), "thumb_ip": (4.5, 0),
    "index_mcp": (3, 5), "index_pip": (7.5, 0), "index_dip": (3, 0),
    "middle_mcp": (6, 0), "middle_pip": (10.5, 0), "middle_dip": (6, 0),
    "ring_mcp": (9, -3), "ring_pip": (13.5, 0), "ring_dip": (7.5, 0),
    "little_mcp": (12, -8), "little_pip": (15, 0), "little_dip": (9, 0),
}  # fmt: skip  (the docs' palm picture: a nearly flat hand, where the MCP names used to overlap)


def finger_pixels(image: np.ndarray) -> np.ndarray:
    """Per pixel the finger whose colour it shows (shading scales a colour: compare directions), or -1."""
    from handkin.viz import colors

    ref = np.stack([colors.rgb(colors.FINGER_COLOURS[f]) for f in Finger])
    p = image.astype(float) / 255.0
    cosine = (p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), 1e-9)) @ (
        ref / np.linalg.norm(ref, axis=1, keepdims=True)
    ).T
    chroma = p.max(-1) - p.min(-1)
    return np.where((cosine.max(-1) > 0.985) & (chroma > 0.15), cosine.argmax(-1), -1)


def bent_back_hand() -> HandSkeleton:
    """A hand outside the default limits at one joint only: the index PIP bent back 60°."""
    return handkin.posed_hand({"index_pip": (-60, 0), "middle_pip": (40, 0), "ring_pip": (50, 0)}, degrees=True)


@pytest.fixture(scope="module")
def demo_result():
    return analyze(demo_sequence())


# ------------------------------------------------------------------------------------------- matplotlib figures
@mpl_needed
def test_report_figures_are_titled_with_the_source(demo_result):
    from handkin.sequence_report import angles_figure, bones_figure

    for fig in (angles_figure(demo_result), bones_figure(demo_result)):
        title = fig._suptitle.get_text()
        assert "handkin demo" in title, title


@mpl_needed
def test_bone_lengths_at_the_noise_floor_say_constant(demo_result):
    from handkin.sequence_report import bones_figure

    assert 0 < np.nanmax(demo_result.bones.deviation) < 1e-12  # forward kinematics: rounding only
    ax = bones_figure(demo_result).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert any("constant" in t for t in texts), texts
    assert ax.get_ylim() == (-1.0, 1.0)  # not a 1e-14 axis
    (line,) = ax.get_lines()
    assert np.all(line.get_ydata() == 0)


@mpl_needed
def test_bone_lengths_of_a_tracker_are_plotted(demo_result):
    from handkin.sequence_report import bones_figure

    joints = np.asarray(demo_result.sequence.joints).copy()
    joints += np.random.default_rng(0).normal(0, 1.0, joints.shape)  # 1 mm tracking noise
    noisy = analyze(HandSequence(joints, units="mm", fps=demo_result.sequence.fps, source="noisy.npz"))
    ax = bones_figure(noisy).axes[0]
    assert not any("constant" in t.get_text() for t in ax.texts)
    assert np.ptp(ax.get_lines()[0].get_ydata()) > 0.1


@mpl_needed
def test_angle_planes_legend_shows_the_finger_colours():
    from handkin import viz

    fig = viz.plot_angle_planes(handkin.JointLimits.default(), title="t")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [f.name for f in Finger] == [x for x in labels if x in {f.name for f in Finger}]


# ------------------------------------------------------------------------------------------- pyvista scenes
def _build(hand, **style):
    from handkin.viz._common import hand_list
    from handkin.viz.scene import build

    return build(hand_list(hand, "mm", "right"), off_screen=True, **style)


@pv_needed
def test_scene_has_a_finger_legend_and_a_title():
    plotter, drawing = _build(handkin.posed_hand(), title="hand.npz — frame 3")
    try:
        assert [e[0] for e in drawing.legend_entries] == [f.name for f in Finger]
        assert plotter.legend.GetNumberOfEntries() == 5
        assert "hand.npz — frame 3" in plotter.actors["title"].GetText(7)  # the upper edge
    finally:
        plotter.close()


@pv_needed
@pytest.mark.parametrize("view", ["palm", "side", "back"])
def test_framing_keeps_the_hand_inside_with_margins(view):
    from handkin.viz.scene import BORDER, TITLE_STRIP, project_to_display

    seq = demo_sequence()
    hand = seq.skeleton()
    plotter, drawing = _build(hand, view=view, title="x", limits=handkin.JointLimits.default(), color="violations")
    try:
        width, height = plotter.window_size
        xy = project_to_display(plotter, np.asarray(hand.joints).reshape(-1, 3))
        x0, x1 = 0.01 * width, (0.01 + drawing.legend_width) * width
        y0, y1 = (1 - TITLE_STRIP - drawing.legend_height) * height, (1 - TITLE_STRIP) * height
        in_legend = (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
        assert drawing.legend_width > 0 and not in_legend.any()  # clear of the finger legend
        assert xy[:, 0].min() > 0.5 * BORDER * width
        assert xy[:, 0].max() < (1 - 0.16) * width  # clear of the colour bars
        assert xy[:, 1].min() > 0.5 * BORDER * height
        assert xy[:, 1].max() < (1 - TITLE_STRIP) * height  # below the title, not against the top edge
    finally:
        plotter.close()


@pv_needed
def test_joint_labels_do_not_overlap():
    plotter, drawing = _build(handkin.posed_hand(RELAXED, degrees=True), view="palm", joint_labels=True)
    try:
        names = [n for n, _ in drawing.placed_labels]
        boxes = [b for _, b in drawing.placed_labels]
        assert {"index_mcp", "middle_mcp", "ring_mcp", "little_mcp"} <= set(names)
        for a, b in itertools.combinations(boxes, 2):
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    finally:
        plotter.close()


@pv_needed
@pytest.mark.parametrize("view", ["side", "back"])
def test_violation_views_keep_finger_colours_where_nothing_is_violated(view):
    from handkin import viz
    from handkin.viz import colors

    image = viz.render(
        bent_back_hand(), view=view, limits=handkin.JointLimits.default(), color="violations", window_size=(320, 240),
        legend=False,
    )  # fmt: skip
    fingers = finger_pixels(image)
    counts = {f.name: int((fingers == int(f)).sum()) for f in Finger}
    visible = [f for f in (Finger.thumb, Finger.middle, Finger.little) if counts[f.name] > 30]
    assert len(visible) >= 2, counts  # not all grey
    # the violated index PIP is drawn on the violation scale (dark red at 35° over), not in its finger's orange
    worst = colors.rgb(colors.VIOLATION_COLOURS[-1])
    p = image.reshape(-1, 3).astype(float) / 255.0
    cosine = (p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), 1e-9)) @ (worst / np.linalg.norm(worst))
    assert (cosine > 0.995).sum() > 10


@pv_needed
def test_render_over_a_background_image():
    from handkin import viz

    hand = handkin.posed_hand()
    joints = np.asarray(hand.joints) * [-1, -1, 1] + [0, 85, 400]
    K = np.array([[288.0, 0, 160], [0, 288.0, 120], [0, 0, 1]])
    back = np.zeros((240, 320, 3), np.uint8)
    back[..., 2] = 200  # a blue "video frame"
    image = viz.render(joints, view="camera", K=K, image_size=(320, 240), background=back, legend=False)
    assert np.array_equal(image[0, 0], [0, 0, 200]) and np.array_equal(image[-1, -1], [0, 0, 200])
    assert (finger_pixels(image) >= 0).sum() > 200  # the hand over it
    with pytest.raises(handkin.errors.ShapeError, match="background must be an image"):
        viz.render(joints, view="camera", K=K, image_size=(320, 240), background=back[:10])


@pv_needed
def test_gif_reads_at_640x480_with_the_time_label_inside(tmp_path):
    pytest.importorskip("imageio")
    from PIL import Image

    from handkin import viz

    path = viz.animate(demo_sequence()[:2].skeleton(), tmp_path / "seq.gif", fps=5, title="demo.npz", view="side")
    gif = Image.open(path)
    frame = np.asarray(gif.convert("RGB")).astype(int)
    assert frame.shape == (480, 640, 3)
    dark = frame.sum(-1) < 200
    assert not dark[:2].any()  # the title line is not clipped at the top edge
    assert dark[2:40].sum() > 100  # ... and is there


def test_report_snapshot_of_the_most_flexed_frame_is_a_titled_side_view(demo_result):
    from handkin.sequence_report import _snapshot_frame, _snapshot_title

    frame, style, what = _snapshot_frame(demo_result)
    assert style["view"] == "side" and style["color"] == "fingers"
    flex = np.nansum(demo_result.angles[:, :, 0], axis=1)
    assert flex[frame] == np.nanmax(flex)
    title = _snapshot_title(demo_result, frame, what)
    assert f"frame {frame}" in title and "t = " in title and "most flexed" in title and "handkin demo" in title


@pv_needed
def test_joint_label_priority_puts_tips_first():
    from handkin.viz.scene import _label_priority

    order = sorted(Joint, key=_label_priority)
    assert order[:5] == [Joint.thumb_tip, Joint.index_tip, Joint.middle_tip, Joint.ring_tip, Joint.little_tip]
    assert order[5] == Joint.wrist
