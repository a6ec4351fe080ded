"""Stage timing and memory, for ``run_metrics`` and the Dagster metadata. No Dagster here."""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, field


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class StageClock:
    """Wall time of a stage: ``with StageClock() as clock: ...`` then ``clock.seconds``."""

    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    def __enter__(self) -> "StageClock":
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0
