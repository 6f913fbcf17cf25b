"""handkin.tables.format_table: the one formatter of every printed table, and the tables that go through it."""

from __future__ import annotations

import numpy as np
import pytest

import handkin
from handkin.demo import DEMO_POSE
from handkin.tables import format_table


def test_plain_tables_put_numbers_right_and_text_left():
    text = format_table(["joint", "value", "note"], [["a", 1.5, "x"], ["long_name", -10.25, "yz"]], markdown=False)
    assert text.splitlines() == [
        "joint" + " " * 7 + "value  note",
        "a" + " " * 13 + "1.5  x",
        "long_name  -10.25  yz",
    ]
    assert not any(line.endswith(" ") for line in text.splitlines())


def test_align_and_min_width_keep_rows_printed_one_at_a_time_under_one_header():
    first = format_table(["epoch", "loss"], [["1/9", "0.5"]], markdown=False, align=">", min_width=7).splitlines()
    later = format_table(["epoch", "loss"], [["10/9", "0.25"]], markdown=False, align=">", min_width=7).splitlines()
    assert len(first[0]) == len(first[1]) == len(later[1]) == 7 + 2 + 7
    with pytest.raises(ValueError, match="align needs"):
        format_table(["a", "b"], [[1, 2]], markdown=False, align=["<"])
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        format_table(["a", "b"], [[1]])


def test_limit_report_table_columns_line_up():
    """The issue's misaligned table: ``()  joint_angle  index_pip  flexion -60.0°, …`` ran past its header."""
    broken = dict(DEMO_POSE, index_pip=(-60, 0), little_mcp=(35, -65))
    report = handkin.JointLimits.default().check(handkin.posed_hand(broken, degrees=True))
    lines = report.table().splitlines()
    head, rows = lines[1], lines[2:]
    assert len(rows) == 2 and not head.startswith("hand")  # one hand: no "()" column
    assert rows[0].startswith("joint_angle  index_pip")
    for row in rows:
        assert row.index("deg") == head.index("unit")  # the last column starts under its header
        assert row.index("flexion") == head.index("measured")
        assert row.rindex(" deg") == head.index("unit") - 1
    # the numbers of "outside by" end where their header ends
    ends = {len(row[: head.index("unit")].rstrip()) for row in rows}
    assert ends == {len(head[: head.index("unit")].rstrip())}


def test_limit_report_of_a_batch_names_the_hand():
    broken = handkin.posed_hand(dict(DEMO_POSE, index_pip=(-60, 0)), degrees=True)
    joints = np.stack([np.asarray(handkin.posed_hand().joints), np.asarray(broken.joints)])
    lines = handkin.JointLimits.default().check(handkin.HandSkeleton(joints=joints, units="mm")).table().splitlines()
    assert lines[1].startswith("hand  kind")
    assert lines[2].split()[0] == "1"


def test_joint_angle_and_metric_tables_line_up():
    angles = handkin.posed_hand(DEMO_POSE, degrees=True).angles.table().splitlines()
    right = {len(line) for line in angles}
    assert len(right) == 1  # every row ends under "abduction°"
    assert angles[0].split() == ["joint", "flexion°", "abduction°"]
    joints = np.asarray(handkin.posed_hand().joints)[None]
    table = handkin.evaluate(joints + [[1.0, 0.0, 0.0]] * 21, joints).table().splitlines()[1:]
    assert table[0].split()[:2] == ["alignment", "mean"]
    assert len({len(line) for line in table[:4]}) == 1  # every score ends under its header
    ends = [table[0].index(h) + len(h) for h in ("mean EPE mm", "median mm", "AUC")]
    for line in table[1:4]:  # numbers end where their header ends
        assert all(line[e - 1] != " " and (e == len(line) or line[e] == " ") for e in ends), (line, ends)
