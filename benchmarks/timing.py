"""Wall-clock timing shared by the benchmark scripts: warm-up runs first, then
one perf_counter measurement per call, in milliseconds."""
from __future__ import annotations

import statistics
import time


def times_ms(fn, iterations: int, warmup: int = 2) -> list[float]:
    """Sorted wall times of `iterations` calls of fn(), after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)


def median_ms(fn, iterations: int, warmup: int = 2) -> float:
    return statistics.median(times_ms(fn, iterations, warmup))
