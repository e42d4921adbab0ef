"""Drift between two versions of a column: the population stability index (PSI) from their
summaries, and the Kolmogorov-Smirnov statistic from their values when both are local.

PSI = sum over bins of (new - old) * ln(new / old), over shares of the rows, nulls a bin of
their own. Numeric columns are binned at the old version's deciles; the new version's share of
each bin is read off its percentiles (linear between them). Columns with few values (flags,
codes, categories) are binned per value. Shares are clipped at 1e-4 so an empty bin is finite.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from mlv.model.summary import ColumnSummary, Frequencies

EPSILON = 1e-4
DECILES = range(10, 100, 10)


def cdf(quantiles: Sequence[float], x: float) -> float:
    """The share of values <= ``x`` of a column with these evenly spaced quantiles."""
    i = bisect_right(quantiles, x)
    if i == 0:
        return 0.0
    if i >= len(quantiles):
        return 1.0
    step = 1.0 / (len(quantiles) - 1)
    lo, hi = quantiles[i - 1], quantiles[i]
    return (i - 1) * step + (step * (x - lo) / (hi - lo) if hi > lo else 0.0)


def psi(old: Sequence[float], new: Sequence[float]) -> float:
    total = 0.0
    for a, b in zip(old, new, strict=True):
        a, b = max(a, EPSILON), max(b, EPSILON)
        total += (b - a) * math.log(b / a)
    return total


def _rows(column: ColumnSummary, rows: int) -> tuple[int, int]:
    """(rows counted in bins, rows in the null bin)."""
    missing = column.nulls + (column.numeric.nonfinite if column.numeric else 0)
    return rows - missing, missing


def _numeric_shares(column: ColumnSummary, rows: int, edges: list[float]) -> list[float] | None:
    stats = column.numeric
    if stats is None or rows == 0:
        return None
    counted, missing = _rows(column, rows)
    if counted == 0 or not stats.quantiles:
        return [0.0] * (len(edges) + 1) + [missing / rows]
    points = [0.0, *(cdf(stats.quantiles, e) for e in edges), 1.0]
    scale = counted / rows
    return [(b - a) * scale for a, b in pairwise(points)] + [missing / rows]


def _count(freq: Frequencies, value: str) -> int | None:
    """The count of ``value``: from the list, zero when the list is complete, else unknown."""
    for v, n in freq.top:
        if v == value:
            return n
    return 0 if freq.values else None


def _value_shares(
    old: ColumnSummary, old_rows: int, new: ColumnSummary, new_rows: int
) -> tuple[list[float], list[float]] | None:
    a, b = old.frequencies, new.frequencies
    if a is None or b is None or old_rows == 0 or new_rows == 0:
        return None
    keys = sorted({v for v, _ in a.top} | {v for v, _ in b.top})
    known = [(k, _count(a, k), _count(b, k)) for k in keys]
    bins = [(k, x, y) for k, x, y in known if x is not None and y is not None]
    shares: list[list[float]] = []
    for column, rows, side in ((old, old_rows, 1), (new, new_rows, 2)):
        counted, missing = _rows(column, rows)
        listed = [float(item[side] or 0) for item in bins]
        other = max(counted - sum(listed), 0.0)
        shares.append([n / rows for n in listed] + [other / rows, missing / rows])
    return shares[0], shares[1]


def column_psi(
    old: ColumnSummary, old_rows: int, new: ColumnSummary, new_rows: int
) -> float | None:
    """PSI between two summaries of a column; None when they cannot be compared."""
    a, b = old.frequencies, new.frequencies
    listed = a is not None and b is not None and a.values and b.values
    text = old.numeric is None and new.numeric is None
    if listed or (text and a is not None and b is not None):
        shares = _value_shares(old, old_rows, new, new_rows)
        return None if shares is None else psi(*shares)
    if old.numeric is None or new.numeric is None:
        return None
    quantiles = old.numeric.quantiles
    edges = sorted({quantiles[d] for d in DECILES}) if quantiles else []
    old_shares = _numeric_shares(old, old_rows, edges)
    new_shares = _numeric_shares(new, new_rows, edges)
    if old_shares is None or new_shares is None:
        return None
    return psi(old_shares, new_shares)


def ks_statistic(old: Any, new: Any) -> float | None:
    """The two-sample Kolmogorov-Smirnov statistic of two numpy arrays (finite values)."""
    import numpy as np

    if len(old) == 0 or len(new) == 0:
        return None
    a, b = np.sort(old), np.sort(new)
    points = np.concatenate([a, b])
    fa = np.searchsorted(a, points, side="right") / len(a)
    fb = np.searchsorted(b, points, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))
