"""Start-up time of the ``handkin`` command: wall time of ``handkin --help``, ``handkin analyze --help`` and an
argument error (``handkin show x.npz --out x.png --view nonsense``), each a fresh ``python -m handkin`` process.

Run: python benchmarks/bench_cli.py [--repeats 7] [--root PATH]

``--root`` is put first on PYTHONPATH (default: this checkout), so the same script times another worktree or
commit. Prints the median and the fastest of ``--repeats`` runs after one warm-up, and the load average: on a
shared machine the wall-clock figure is only as good as the machine is idle. The target is < 0.5 s: importing
handkin must not import torch (2–3 s alone), scipy.spatial, matplotlib or pyvista.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "handkin --help": ["--help"],
    "handkin analyze --help": ["analyze", "--help"],
    "argument error (--view nonsense)": ["show", "x.npz", "--out", "x.png", "--view", "nonsense"],
}


def _run_times(args: list[str], env: dict[str, str], root: str, repeats: int) -> list[float]:
    cmd = [sys.executable, "-m", "handkin", *args]
    run = {"env": env, "cwd": root, "capture_output": True}  # cwd too: `python -m` puts it first on sys.path
    subprocess.run(cmd, **run)  # warm-up: file-system caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, **run)
        times.append(time.perf_counter() - t0)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="checkout to time")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([args.root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    print(f"root {args.root}, {args.repeats} runs each, load average before {os.getloadavg()[0]:.2f}")
    check = [sys.executable, "-c", "import handkin; print(handkin.__file__)"]
    print(
        "  handkin from", subprocess.run(check, env=env, cwd=args.root, capture_output=True, text=True).stdout.strip()
    )
    for name, cmd in COMMANDS.items():
        times = _run_times(cmd, env, args.root, args.repeats)
        print(f"  {name:<34} median {times[len(times) // 2]:.3f} s   fastest {times[0]:.3f} s")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
