"""Pictures as data: pure functions that turn probabilities and dates into SVG-ready geometry.

Nothing here touches Flask or the database. The templates ``_map.html`` and ``_month_chart.html`` draw
what these functions return, as server-side SVG: no JavaScript, no CDN, nothing a strict CSP refuses.

``map_layout`` draws the map in the model's space once per fitted set (each account at a corner, a sample
of its posts at their out-of-fold probabilities); ``tweet_map`` places the typed text at its own. The
tweets-per-month bars are in ``monthly.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

MAX_POINTS_PER_ACCOUNT = 300
LABEL_EM = 0.72  # estimated width of a bold label's character, in em (measured in Chromium: about 0.7)
BAND = 56  # half the height of the band of a map of two accounts
MIN_RADIUS = 0.08  # of the map's radius: a text one account wins, however narrowly, is visibly off centre

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


# --- the map of posts, in the model's space ---------------------------------------------------------------


def subsample(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``k`` of ``n`` rows, the same on every call."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def corner_directions(k: int) -> np.ndarray:
    """Unit vectors (SVG axes: y grows downwards) to the corners of a regular ``k``-gon: a line for 2, a
    triangle pointing up for 3, a flat top for an even number (a square stands on its side)."""
    if k == 2:
        return np.array([[-1.0, 0.0], [1.0, 0.0]])
    start = -np.pi / 2 + (np.pi / k if k % 2 == 0 else 0.0)
    angles = start + 2 * np.pi * np.arange(k) / k
    return np.column_stack([np.cos(angles), np.sin(angles)])


def place_by_probabilities(probabilities: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Points (relative to the centre, in radii) for rows of probabilities over the corners: the
    probability-weighted mean of the corners, turned (at the same distance from the centre) into the most
    probable account's slice of the disc where the flat polygon would put it nearer another corner (with 4
    or more accounts, as (0.4, 0.3, 0.3, 0) on a square), and at least ``MIN_RADIUS`` from the centre when
    one account is more probable than the others. A point is therefore always nearest the corner of its
    most probable account; only a perfect tie sits at the centre."""
    p = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    p = p / np.where(p.sum(axis=1, keepdims=True) > 0, p.sum(axis=1, keepdims=True), 1)
    owners, top_two = np.argmax(p, axis=1), np.sort(p, axis=1)[:, -2:]
    points = p @ corners if corners.shape[0] == 2 else _into_slices(p @ corners, owners, corners)
    radius = np.hypot(points[:, 0], points[:, 1])[:, None]
    direction = np.where(radius > 1e-12, points / np.maximum(radius, 1e-12), corners[owners])
    return np.where((top_two[:, 1] > top_two[:, 0])[:, None], direction * np.maximum(radius, MIN_RADIUS), points)


def _into_slices(points: np.ndarray, owners: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Each point turned about the centre into its owner's slice (within 0.9 pi/k of its corner's direction)."""
    k = corners.shape[0]
    base = np.arctan2(corners[owners, 1], corners[owners, 0])
    radius = np.hypot(points[:, 0], points[:, 1])
    offset = np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - base)))
    angle = base + np.clip(offset, -0.9 * np.pi / k, 0.9 * np.pi / k)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    path: str


@dataclass(frozen=True)
class MapSeries:
    """One account on the map: its corner, its label, its part of the map and its sampled posts."""

    username: str
    style: Style
    points: list[MapPoint]
    total: int  # posts of the account in the model, shown or not
    corner: tuple[float, float]
    label: tuple[float, float]  # the start of its label's baseline
    label_text: str  # "@handle", shortened with "…" where neighbouring corners leave less room
    region: str  # SVG path of the part of the map nearest its corner

    @property
    def shown(self) -> int:
        return len(self.points)

    @cached_property
    def path(self) -> str:
        """Its dots as one SVG path, joined once per fitted set (not by the template, dot by dot, per page)."""
        return "".join(p.path for p in self.points)


@dataclass(frozen=True)
class MapLayout:
    """The map of a fitted set without the typed text: built once, kept with the cached model."""

    width: int
    height: int
    centre: tuple[float, float]
    radius: float
    series: list[MapSeries]  # by style (case-insensitive name)
    columns: list[str]  # the account key of each probability column
    corners: np.ndarray  # (k, 2) unit directions, rows in ``columns`` order
    names: list[str]  # the username of each column

    @property
    def points_shown(self) -> int:
        return sum(s.shown for s in self.series)

    def place(self, probabilities: np.ndarray) -> np.ndarray:
        """View-box positions of rows of probabilities (columns as ``columns``)."""
        return np.asarray(self.centre) + self.radius * place_by_probabilities(probabilities, self.corners)


@dataclass(frozen=True)
class TweetMap:
    """Everything ``_map.html`` draws, in view-box units: the cached layout and the typed text on it."""

    layout: MapLayout
    typed: tuple[float, float]
    nearest: str  # the account whose corner is closest to the typed text

    width = property(lambda self: self.layout.width)
    height = property(lambda self: self.layout.height)
    series = property(lambda self: self.layout.series)
    points_shown = property(lambda self: self.layout.points_shown)


def map_layout(
    probabilities: Mapping[str, np.ndarray],
    usernames: Mapping[str, str],
    columns: Sequence[str],
    totals: Mapping[str, int] | None = None,
    max_per_account: int = MAX_POINTS_PER_ACCOUNT,
    width: int = 400,
    dot: float = 3.2,
    seed: int = 0,
) -> MapLayout:
    """The map of each account's stored posts (``probabilities[key]``: a row of probabilities per post,
    columns as ``columns``), at most ``max_per_account`` each (a seeded sample). Dots are spread a little
    (a few units, never out of their account's slice) so that a pile of sure posts at a corner shows."""
    k = len(columns)
    corners = corner_directions(k)
    radius, top = 0.35 * width, 40.0
    if k == 2:  # a band under the labels
        centre, height = (width / 2, top + BAND), int(top + 2 * BAND + 8)
    else:  # the top corner's label above, the slices (radius + 12) and the lower corners' labels below
        centre = (width / 2, top + 8 + radius * float(-corners[:, 1].min()))
        height = int(centre[1] + max(radius * float(corners[:, 1].max()) + 44, radius + 14))
    layout = MapLayout(width, height, centre, radius, [], list(columns), corners, [usernames[c] for c in columns])
    styles = styles_for(usernames.values())
    rng = np.random.default_rng(seed)
    for key in sorted(columns, key=lambda c: styles[usernames[c]].index):
        style = styles[usernames[key]]
        rows = np.asarray(probabilities[key], dtype=np.float64).reshape(-1, k)
        sample = rows[subsample(len(rows), max_per_account, seed)]
        relative = place_by_probabilities(sample, corners) * radius
        if k == 2:
            relative[:, 1] = rng.uniform(6 - BAND, BAND - 6, len(sample))
        elif len(sample):
            relative = _into_slices(relative + rng.uniform(-5, 5, relative.shape), np.argmax(sample, 1), corners)
        placed = np.round(np.asarray(centre) + relative, 1)
        column = list(columns).index(key)
        room = width / 2 if k == 2 else 2 * radius * float(np.sin(np.pi / k)) - 6
        text = fit_label("@" + usernames[key], room)
        layout.series.append(
            MapSeries(
                usernames[key],
                style,
                [MapPoint(float(x), float(y), marker_path(style.shape, float(x), float(y), dot)) for x, y in placed],
                (totals or {}).get(key, len(rows)),
                _point(centre, radius, corners[column]),
                _label_at(centre, radius, corners[column], text, width, k == 2),
                text,
                _region(centre, radius, corners, column),
            )
        )
    return layout


def tweet_map(layout: MapLayout, probabilities: np.ndarray) -> TweetMap:
    """Place the typed text by its probabilities on a fitted set's map; ``nearest`` is measured on the map."""
    x, y = layout.place(probabilities)[0]
    corners = np.asarray(layout.centre) + layout.radius * layout.corners
    nearest = layout.names[int(np.argmin(np.hypot(corners[:, 0] - x, corners[:, 1] - y)))]
    return TweetMap(layout, (round(float(x), 1), round(float(y), 1)), nearest)


def _point(centre: tuple[float, float], radius: float, direction: np.ndarray) -> tuple[float, float]:
    return round(centre[0] + radius * float(direction[0]), 1), round(centre[1] + radius * float(direction[1]), 1)


def fit_label(label: str, room: float, size: float = 15) -> str:
    """``label``, cut with "…" to the characters that fit ``room`` units at ``size`` (LABEL_EM a character)."""
    fits = max(int(room / (LABEL_EM * size)), 4)
    return label if len(label) <= fits else label[: fits - 1] + "…"


def _label_at(centre, radius: float, direction: np.ndarray, label: str, width: int, line: bool) -> tuple[float, float]:
    """Where a corner's label starts: above an upper (or level) corner, below a lower one, centred on the
    corner and kept inside the view box (its width estimated at LABEL_EM a character of 15 units)."""
    x, y = _point(centre, radius, direction)
    estimated = LABEL_EM * 15 * len(label)
    left = min(max(x - estimated / 2, 4.0), width - 4.0 - estimated)
    if line:  # the ends of the line: above its band
        return round(max(left, 4.0), 1), round(y - BAND - 10, 1)
    return round(max(left, 4.0), 1), round(y + 30 if direction[1] > 0.2 else y - 14, 1)


def _region(centre, radius: float, corners: np.ndarray, column: int) -> str:
    """SVG path of the part of the map nearest corner ``column``: a slice of the disc (a half band for 2)."""
    cx, cy = centre
    if len(corners) == 2:
        x0, x1 = (cx - radius - 12, cx) if corners[column, 0] < 0 else (cx, cx + radius + 12)
        return f"M{x0:.1f} {cy - BAND:.1f}H{x1:.1f}V{cy + BAND:.1f}H{x0:.1f}Z"
    base, half, r = float(np.arctan2(corners[column, 1], corners[column, 0])), np.pi / len(corners), radius + 12
    a, b = base - half, base + half
    return (
        f"M{cx:.1f} {cy:.1f}L{cx + r * np.cos(a):.1f} {cy + r * np.sin(a):.1f}"
        f"A{r:.1f} {r:.1f} 0 0 1 {cx + r * np.cos(b):.1f} {cy + r * np.sin(b):.1f}Z"
    )
