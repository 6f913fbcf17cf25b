"""Joint limits end to end: defaults, checking, fitting a person's calibration, personalising, saving.

Run: python examples/limits_workflow.py [--out-dir DIR]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

import handkin
from handkin import HandSkeleton, JointLimits


def main(out_dir: Path) -> None:
    defaults = JointLimits.default()  # literature limits, scale-free
    print(defaults)

    # a plausible hand and an impossible one (index finger bent backwards 60° at the PIP)
    relaxed = handkin.posed_hand({"index_pip": (40, 0), "middle_pip": (50, 0)}, degrees=True)
    broken = handkin.posed_hand({"index_pip": (-60, 0)}, degrees=True)
    print("relaxed hand within the defaults:", bool(defaults.check(relaxed).ok))
    print(defaults.check(broken).table())

    # a person's calibration recording: random poses inside their own (smaller) range, their hand size
    rng = np.random.default_rng(0)
    angles = np.stack([rng.uniform(-0.1, 1.3, (2000, 15)), rng.uniform(-0.2, 0.2, (2000, 15))], axis=-1)
    recording = HandSkeleton(joints=np.asarray(handkin.posed_hand(angles).joints) * 0.95, units="mm")
    theirs = JointLimits.fit(recording, units="ref", base=defaults, merge="replace")  # their own ranges
    theirs = theirs.scaled(reference_length=0.95 * 87.0)  # and their size, in millimetres
    stiff = theirs.with_joint("ring_pip", flexion=(0, 30), abduction=(-5, 5), degrees=True)
    print(stiff)
    print("their hand with the ring finger flexed 60° at the PIP:")
    flexed = handkin.posed_hand({"ring_pip": (60, 0)}, degrees=True)
    print(stiff.check(HandSkeleton(joints=np.asarray(flexed.joints) * 0.95, units="mm")).table())

    path = stiff.save(out_dir / "limits.json")
    assert JointLimits.load(path) == stiff
    print("saved and reloaded", path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.out_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
    else:
        main(args.out_dir)
