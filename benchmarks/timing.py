"""Shared timing helpers of the benchmark scripts."""

import time


def run_times(fn, repeats: int, warmup: int) -> list[float]:
    """Seconds of ``repeats`` timed runs of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def best_seconds(fn, repeats: int = 5) -> float:
    """The fastest of ``repeats`` timed runs after a warm-up (the least disturbed by other load on a shared VM)."""
    return min(run_times(fn, repeats, warmup=1))


def median_ms(fn, repeats: int = 30, warmup: int = 3) -> float:
    """The median of ``repeats`` timed runs after ``warmup`` untimed ones, in milliseconds."""
    times = sorted(run_times(fn, repeats, warmup))
    return times[len(times) // 2] * 1e3


def interleaved_ms(cells: dict, rounds: int, repeats: int, warmup: int = 1, before=None, budget_s: float = 0.5) -> dict:
    """Median-of-rounds milliseconds per call of each cell, measured interleaved.

    ``cells`` maps a key to a zero-argument callable. Each round runs every cell once — up to ``repeats`` timed
    calls, fewer once ``budget_s`` seconds are spent (at least one), their median kept — in an order rotated by one
    from round to round, so slow phases of a shared machine hit every cell alike. The first round starts each cell
    with ``warmup`` untimed calls. ``before(key)`` (e.g. setting the thread count) runs before each cell's calls.
    Returns ``{key: (median over rounds, [per-round medians])}``.
    """
    keys = list(cells)
    per_round: dict = {k: [] for k in keys}
    for r in range(rounds):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            if before is not None:
                before(key)
            for _ in range(warmup if r == 0 else 0):
                cells[key]()
            times: list[float] = []
            while len(times) < repeats and (not times or sum(times) < budget_s):
                t0 = time.perf_counter()
                cells[key]()
                times.append(time.perf_counter() - t0)
            times.sort()
            per_round[key].append(times[len(times) // 2] * 1e3)
    return {k: (sorted(v)[len(v) // 2], v) for k, v in per_round.items()}
