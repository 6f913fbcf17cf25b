"""Per-user limits, the recipe: a calibration recording → the person's limits → check a new recording.

1. a calibration recording of the person moving their joints through their range (here simulated);
2. ``handkin fit-limits calibration.npz -o limits.json --base none`` (the person's own range, widened by the
   documented margins so that the rest of their motion passes), or ``fit_user_limits`` in Python;
3. ``handkin analyze new.npz --limits limits.json``: frames outside the person's range are listed.

Then two people compared: a hypermobile one (union with the defaults: only widens them) and a stiff one
(``rule="replace"``: his own range).

Run: python examples/personalise_limits.py [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

import handkin
from handkin import JointLimits, cli, personal
from handkin.io import HandSequence, save


def calibration(flexion_deg: tuple[float, float], n: int = 300, seed: int = 0) -> HandSequence:
    """A recording: every finger joint swept through a person's flexion range (the thumb half), with noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    angles = np.zeros((n, 15, 2))
    lo, hi = np.radians(flexion_deg)
    phase = rng.uniform(0, 0.2)  # each recording starts at another point of the motion
    sweep = lo + (hi - lo) * (0.5 - 0.5 * np.cos(2 * np.pi * (t + phase)))
    angles[:, 3:, 0] = sweep[:, None]
    angles[:, :3, 0] = 0.5 * sweep[:, None]  # the thumb moves half as far
    angles[:, 3:, 1] = np.radians(10) * np.sin(4 * np.pi * (t + phase))[:, None]
    hand = handkin.posed_hand(angles, units="mm")
    joints = np.asarray(hand.joints) + rng.normal(0, 0.3, (n, 21, 3))  # 0.3 mm marker noise
    return HandSequence.from_array(joints, units="mm", fps=60, source=f"calibration {seed}")


def recipe(out: Path) -> None:
    """Calibration recording → personal limits (the CLI) → check a new recording of the same person."""
    calib = save(calibration((0, 80), seed=2), out / "calibration.npz")
    limits_file = out / "limits_cara.json"
    cli.main(["fit-limits", str(calib), "-o", str(limits_file), "--base", "none", "--user", "cara"])
    limits = JointLimits.load(limits_file)

    later = calibration((0, 80), seed=3)  # another session: the same motion, other noise
    print(
        f"new session — frames outside Cara's limits: {np.count_nonzero(~limits.check(later.skeleton()).ok)}"
        f" of {len(later)}"
    )
    joints = later.joints.copy()
    bent = handkin.posed_hand({"index_pip": (110, 0)}, degrees=True, units="mm")  # beyond her 80°
    joints[:20] = np.asarray(bent.joints)
    unusual = save(HandSequence.from_array(joints, units="mm", fps=60), out / "new_recording.npz")
    cli.main(["analyze", str(unusual), "--limits", str(limits_file), "--no-progress"])


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    recipe(out)

    defaults = JointLimits.default()
    # Ana is hypermobile: her finger joints bend 40° backwards; Ben is stiff: at most 60° of flexion
    ana = personal.fit_user_limits(calibration((-40, 90)), user="ana")  # union with the defaults: only widens
    ben = personal.fit_user_limits(calibration((0, 60), seed=1), user="ben", rule="replace")  # his own range

    backwards = handkin.posed_hand({"index_pip": (-35, 0)}, degrees=True)
    print("\nindex PIP 35° backwards — within the defaults:", bool(defaults.check(backwards).ok))
    print("index PIP 35° backwards — within the personal limits:", bool(ana.check(backwards).ok))
    fist = handkin.posed_hand({"index_pip": (90, 0)}, degrees=True)
    print("index PIP flexed 90° — within Ben's limits:", bool(ben.check(fist).ok))
    print(ben.check(fist).table())

    print("\nAna and Ben compared (degrees; IoU = overlap of the joint's angle polygons):")
    print(personal.compare_limits(ana, ben, names=("ana", "ben")).table(markdown=False))

    path = ana.save(out / "limits_ana.json")
    assert JointLimits.load(path) == ana
    print("\nsaved", path, "— use it with: handkin analyze FILE --limits", path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "handkin-limits")
    main(parser.parse_args().out)
