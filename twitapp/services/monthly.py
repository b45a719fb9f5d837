"""The bars of an account's tweets per month as SVG-ready geometry (``_month_chart.html`` draws them):
pure functions over per-month counts, no Flask, no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class MonthBar:
    month: date  # the first of the month
    count: int
    x: float
    y: float
    width: float
    height: float

    @property
    def label(self) -> str:
        return self.month.strftime("%b %Y")


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    bars: list[MonthBar]
    peak: int
    total: int
    ticks: list[tuple[float, str]]  # (x of the label's centre, label): years, or sparser months
    baseline: float

    @property
    def first(self) -> date | None:
        return self.bars[0].month if self.bars else None

    @property
    def last(self) -> date | None:
        return self.bars[-1].month if self.bars else None

    @property
    def busiest(self) -> MonthBar | None:
        return max(self.bars, key=lambda b: (b.count, b.month)) if self.bars else None


def month_counts(per_month: Mapping[date, int], max_months: int = 36) -> list[tuple[date, int]]:
    """Tweets per calendar month (``per_month``: by the first of the month), oldest first, months without
    tweets included as 0; only the newest ``max_months`` months are kept so a long history stays readable."""
    counts = {m: n for m, n in per_month.items() if n}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    months = months[-max_months:]
    return [(m, counts.get(m, 0)) for m in months]


def month_chart(
    counts: Sequence[tuple[date, int]],
    width: int = 800,
    height: int = 170,
    top: int = 8,
    bottom: int = 22,
    gap: float = 0.18,
) -> MonthChart:
    """Bar geometry for ``month_counts``: one bar per month, the tallest touching the top."""
    if not counts:
        return MonthChart(width, height, [], 0, 0, [], float(height - bottom))
    peak = max(c for _, c in counts) or 1
    slot = width / len(counts)
    plot = height - top - bottom
    baseline = float(height - bottom)
    bars = []
    for i, (month, count) in enumerate(counts):
        h = plot * count / peak
        if count and h < 1.5:
            h = 1.5  # a month with one tweet still shows
        bars.append(
            MonthBar(
                month,
                count,
                round(i * slot + slot * gap / 2, 2),
                round(baseline - h, 2),
                round(slot * (1 - gap), 2),
                round(h, 2),
            )
        )
    ticks = _month_ticks(bars, slot)
    return MonthChart(width, height, bars, peak, sum(c for _, c in counts), ticks, baseline)


def _month_ticks(bars: Sequence[MonthBar], slot: float) -> list[tuple[float, str]]:
    if len(bars) <= 1:
        return [(round(b.x + b.width / 2, 2), b.label) for b in bars]
    years = sorted({b.month.year for b in bars})
    if len(years) > 1:  # a label at each January (or at the first month shown)
        ticks, seen = [], set()
        for b in bars:
            if b.month.year not in seen:
                seen.add(b.month.year)
                ticks.append((max(0.0, round(b.x - slot * 0.09, 2)), str(b.month.year)))
        # a year that starts just before the next one's label would overlap it: keep the later label
        return [t for t, after in zip(ticks, ticks[1:] + [(float("inf"), "")]) if after[0] - t[0] >= 30]
    step = max(1, len(bars) // 6)
    return [(round(b.x + b.width / 2, 2), b.month.strftime("%b")) for b in bars[::step]]
