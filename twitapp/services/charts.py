"""Pictures as data: pure functions that turn embeddings and dates into SVG-ready geometry.

Nothing here touches Flask or the database. The templates ``_map.html`` and ``_month_chart.html`` draw
what these functions return, as server-side SVG: no JavaScript, no CDN, nothing a strict CSP refuses.

* ``fit_projection`` computes a 2-D PCA (numpy SVD) of a fitted set's tweet embeddings once, on a
  deterministic subsample of at most ``MAX_POINTS_PER_ACCOUNT`` tweets per account; the result is kept
  with the cached fitted set, so a prediction only projects the typed tweet.
* ``map_layout`` scales the projected points into an SVG view box, once per fitted set;
  ``tweet_map`` places a typed tweet on it.
* ``month_counts`` and ``month_chart`` give the bars of an account's tweets per month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

MAX_POINTS_PER_ACCOUNT = 300

# Okabe-Ito colours (safe for the common colour-vision deficiencies), each paired with a marker shape so
# that colour is never the only carrier of meaning.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a5c00", "#3d3d3d")
SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down", "plus", "cross", "star")


@dataclass(frozen=True)
class Style:
    """How one account is drawn: its colour, marker shape and CSS class (``series-<index>``)."""

    index: int
    colour: str
    shape: str

    @property
    def css_class(self) -> str:
        return f"series-{self.index % len(PALETTE)}"


def styles_for(usernames: Iterable[str]) -> dict[str, Style]:
    """A stable style per account: by case-insensitive username, so a set always looks the same. Past the
    palette's eight colours (MAX_CANDIDATES goes to 10) a colour comes back with another shape."""
    ordered = sorted(usernames, key=str.lower)
    return {
        name: Style(i, PALETTE[i % len(PALETTE)], SHAPES[(i + i // len(PALETTE)) % len(SHAPES)])
        for i, name in enumerate(ordered)
    }


def marker_path(shape: str, x: float, y: float, r: float) -> str:
    """SVG path data for a marker of radius ``r`` centred on (x, y)."""

    def f(v: float) -> str:
        return f"{v:.1f}".rstrip("0").rstrip(".")

    if shape == "circle":
        return f"M{f(x - r)} {f(y)}a{f(r)} {f(r)} 0 1 0 {f(2 * r)} 0a{f(r)} {f(r)} 0 1 0 {f(-2 * r)} 0Z"
    if shape == "square":
        s = r * 0.88
        return f"M{f(x - s)} {f(y - s)}h{f(2 * s)}v{f(2 * s)}h{f(-2 * s)}Z"
    if shape == "triangle":
        return f"M{f(x)} {f(y - r * 1.15)}L{f(x + r * 1.05)} {f(y + r * 0.8)}L{f(x - r * 1.05)} {f(y + r * 0.8)}Z"
    if shape == "triangle-down":
        return f"M{f(x)} {f(y + r * 1.15)}L{f(x + r * 1.05)} {f(y - r * 0.8)}L{f(x - r * 1.05)} {f(y - r * 0.8)}Z"
    if shape == "diamond":
        d = r * 1.2
        return f"M{f(x)} {f(y - d)}L{f(x + d)} {f(y)}L{f(x)} {f(y + d)}L{f(x - d)} {f(y)}Z"
    if shape == "plus":
        w = r * 0.4
        return (
            f"M{f(x - w)} {f(y - r)}h{f(2 * w)}v{f(r - w)}h{f(r - w)}v{f(2 * w)}h{f(w - r)}v{f(r - w)}"
            f"h{f(-2 * w)}v{f(w - r)}h{f(w - r)}v{f(-2 * w)}h{f(r - w)}Z"
        )
    if shape == "cross":
        w = r * 0.35
        return (
            f"M{f(x - r)} {f(y - r + w)}L{f(x - r + w)} {f(y - r)}L{f(x)} {f(y - w)}L{f(x + r - w)} {f(y - r)}"
            f"L{f(x + r)} {f(y - r + w)}L{f(x + w)} {f(y)}L{f(x + r)} {f(y + r - w)}L{f(x + r - w)} {f(y + r)}"
            f"L{f(x)} {f(y + w)}L{f(x - r + w)} {f(y + r)}L{f(x - r)} {f(y + r - w)}L{f(x - w)} {f(y)}Z"
        )
    if shape == "star":
        points = []
        for k in range(10):
            radius = r * 1.25 if k % 2 == 0 else r * 0.55
            angle = -np.pi / 2 + k * np.pi / 5
            points.append(f"{f(x + radius * np.cos(angle))} {f(y + radius * np.sin(angle))}")
        return "M" + "L".join(points) + "Z"
    raise ValueError(f"unknown marker shape: {shape!r}")


# --- the map of tweets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA basis and the projected sample of each account's tweets (kept with the fitted set)."""

    mean: np.ndarray  # (dim,)
    components: np.ndarray  # (2, dim), rows orthonormal
    points: dict[str, np.ndarray]  # account key -> (k, 2) projected sample
    explained: tuple[float, float]  # share of the sample's variance along each axis

    def project(self, vector: np.ndarray) -> np.ndarray:
        """(x, y) of one embedding, normalised the way the sample was."""
        vector = np.asarray(vector, dtype=np.float64)
        norm = np.linalg.norm(vector)
        unit = vector / norm if norm else vector
        return (unit - self.mean) @ self.components.T


def subsample(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``k`` of ``n`` rows, the same on every call."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def fit_projection(
    unit_vectors: Mapping[str, np.ndarray], max_per_account: int = MAX_POINTS_PER_ACCOUNT, seed: int = 0
) -> Projection:
    """PCA to two dimensions of the accounts' (unit) embeddings, through one thin SVD of a subsample."""
    samples = {
        key: np.asarray(vectors, dtype=np.float64)[subsample(len(vectors), max_per_account, seed)]
        for key, vectors in unit_vectors.items()
    }
    stacked = [s for s in samples.values() if len(s)]
    if not stacked:
        raise ValueError("no vectors to project")
    data = np.vstack(stacked)
    mean = data.mean(axis=0)
    centred = data - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = np.zeros((2, data.shape[1]))
    components[: min(2, len(vt))] = vt[:2]
    for row in components:  # a sign convention, so the same data always gives the same picture
        pivot = np.argmax(np.abs(row))
        if row[pivot] < 0:
            row *= -1
    total = float((singular**2).sum())
    shares = [float(s**2 / total) if total else 0.0 for s in singular[:2]] + [0.0, 0.0]
    points = {key: (s - mean) @ components.T for key, s in samples.items()}
    return Projection(mean=mean, components=components, points=points, explained=(shares[0], shares[1]))


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    path: str


@dataclass(frozen=True)
class MapSeries:
    username: str
    style: Style
    points: list[MapPoint]
    total: int  # tweets of the account in the model, shown or not

    @property
    def shown(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class MapLayout:
    """The map of a fitted set without the typed tweet: built once, kept with the cached model."""

    width: int
    height: int
    margin: int
    series: list[MapSeries]
    projection: Projection
    low: np.ndarray  # projected coordinates of the box's corner
    scale: np.ndarray  # view-box units per projected unit, per axis
    offset: np.ndarray
    centres: dict[str, np.ndarray]  # username -> mean projected position of its sample

    @property
    def points_shown(self) -> int:
        return sum(s.shown for s in self.series)

    def place(self, point: np.ndarray) -> tuple[float, float]:
        """View-box position of a projected point, kept inside the margins (an outlier sits on the edge)."""
        x, y = self.offset + (point - self.low) * self.scale
        x = min(max(float(x), self.margin), self.width - self.margin)
        y = min(max(float(y), self.margin), self.height - self.margin)
        return round(x, 1), round(self.height - y, 1)  # SVG y grows downwards


@dataclass(frozen=True)
class TweetMap:
    """Everything ``_map.html`` draws, in view-box units: the cached layout and the typed tweet on it."""

    layout: MapLayout
    typed: tuple[float, float]
    nearest: str  # the account whose tweets' centre is closest to the typed tweet

    width = property(lambda self: self.layout.width)
    height = property(lambda self: self.layout.height)
    series = property(lambda self: self.layout.series)
    points_shown = property(lambda self: self.layout.points_shown)
    explained = property(lambda self: self.layout.projection.explained)


def map_layout(
    projection: Projection,
    usernames: Mapping[str, str],
    totals: Mapping[str, int] | None = None,
    width: int = 640,
    height: int = 400,
    margin: int = 18,
    radius: float = 3.6,
    max_stretch: float = 1.5,
) -> MapLayout:
    """Scale the projected sample of each account (keys of ``usernames``) into a ``width`` x ``height`` box;
    one axis is stretched at most ``max_stretch`` times the other (1 keeps distances true)."""
    everything = np.vstack([p for p in projection.points.values() if len(p)] or [np.zeros((1, 2))])
    low, high = everything.min(axis=0), everything.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    fit = np.array([(width - 2 * margin) / span[0], (height - 2 * margin) / span[1]])
    scale = np.minimum(fit, fit.min() * max_stretch)  # fill the box, stretching one axis at most this much
    offset = np.array([(width - scale[0] * span[0]) / 2, (height - scale[1] * span[1]) / 2])
    layout = MapLayout(width, height, margin, [], projection, low, scale, offset, {})

    styles = styles_for(usernames.values())
    for key, username in sorted(usernames.items(), key=lambda kv: styles[kv[1]].index):
        style = styles[username]
        projected = projection.points.get(key, np.zeros((0, 2)))
        placed = [layout.place(p) for p in projected]
        if len(projected):
            layout.centres[username] = projected.mean(axis=0)
        layout.series.append(
            MapSeries(
                username,
                style,
                [MapPoint(x, y, marker_path(style.shape, x, y, radius)) for x, y in placed],
                (totals or {}).get(key, len(projected)),
            )
        )
    return layout


def set_map_layout(unit_vectors: Mapping[str, np.ndarray], usernames: Mapping[str, str]) -> MapLayout:
    """The map of a fitted set: each account's (unit) embeddings, keyed like ``usernames``, projected and laid out."""
    totals = {key: len(vectors) for key, vectors in unit_vectors.items()}
    return map_layout(fit_projection(unit_vectors), usernames, totals=totals)


def tweet_map(layout: MapLayout, typed_vector: np.ndarray) -> TweetMap:
    """Place the typed tweet on a fitted set's map: one projection, no new geometry for the sample."""
    typed = layout.projection.project(typed_vector)
    centres = layout.centres
    nearest = min(centres, key=lambda u: float(np.linalg.norm(centres[u] - typed))) if centres else ""
    return TweetMap(layout, layout.place(typed), nearest)


# --- tweets per month --------------------------------------------------------------------------------------


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


def month_counts(moments: Iterable[datetime | date], max_months: int = 36) -> list[tuple[date, int]]:
    """Tweets per calendar month, oldest first, months without tweets included as 0; only the newest
    ``max_months`` months are kept so a long history stays readable."""
    counts = Counter(date(m.year, m.month, 1) for m in moments if m is not None)
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
