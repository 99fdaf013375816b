"""Medians, percentiles and ratios: the only statistics the suite reports.

Ratios are taken between medians (median of ours / median of smolagents' over the same
repetitions in the same run), never between single samples, so one noisy sample on a shared
machine moves a ratio only as much as it moves a median.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(samples: Sequence[float]) -> float | None:
    return statistics.median(samples) if samples else None


def percentile(samples: Sequence[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); ``share`` in [0, 1]."""
    if not samples:
        return None
    ordered = sorted(samples)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """ours / theirs, or None when either is missing or theirs is zero."""
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def summary(samples: Sequence[float]) -> dict[str, float | int | None]:
    """What the JSON keeps about a list of samples (the samples too, for re-analysis)."""
    return {
        "n": len(samples),
        "median": median(samples),
        "p50": percentile(samples, 0.5),
        "p95": percentile(samples, 0.95),
        "min": min(samples) if samples else None,
        "max": max(samples) if samples else None,
        "samples": list(samples),
    }
