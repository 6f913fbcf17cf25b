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
