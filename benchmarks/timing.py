"""Shared timing helper of the benchmark scripts."""

import time


def best_seconds(fn, repeats: int = 5) -> float:
    """The fastest of ``repeats`` timed runs after a warm-up (the least disturbed by other load on a shared VM)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def median_ms(fn, repeats: int = 30, warmup: int = 3) -> float:
    """The median of ``repeats`` timed runs after ``warmup`` untimed ones, in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2] * 1e3
