"""The pictures' geometry (services/charts.py): the map in the model's space, tweets per month, styles;
highlighted evidence."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import select

from twitapp.services import charts, monthly
from twitapp.web.highlight import Piece, highlight


def probability_rows(k: int, n: int = 120, seed: int = 1) -> dict[str, np.ndarray]:
    """Out-of-fold-like probabilities of n posts per account, each mostly sure of its own account."""
    rng = np.random.default_rng(seed)
    rows = {}
    for column in range(k):
        alpha = np.ones(k)
        alpha[column] = 6
        rows[f"id-{column}"] = rng.dirichlet(alpha, size=n)
    return rows


def names(k: int) -> dict[str, str]:
    return {f"id-{i}": f"acct{i}" for i in range(k)}


def long_names(k: int) -> dict[str, str]:
    """Handles of 15 characters, X's longest (sorted as ``names``)."""
    return {f"id-{i}": f"acct{i}_longhandle"[:15] for i in range(k)}


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 10])
def test_the_star_is_nearest_the_corner_of_the_most_probable_account(k):
    """The map and the verdict agree by construction: whatever the probabilities, the typed text lands
    nearest the corner of its most probable account (with 4 or more, where the flat polygon alone would
    not guarantee it)."""
    layout = charts.map_layout(probability_rows(k), names(k), [f"id-{i}" for i in range(k)])
    rng = np.random.default_rng(k)
    for probabilities in [*rng.dirichlet(np.ones(k) * 0.7, size=400), np.array([0.4, 0.3, 0.3] + [0] * (k - 3))[:k]]:
        if k == 2:
            probabilities = probabilities[:2] / probabilities[:2].sum() if probabilities[:2].sum() else [0.6, 0.4]
        winner = f"acct{int(np.argmax(probabilities))}"
        placed = charts.tweet_map(layout, np.asarray(probabilities))
        assert placed.nearest == winner
        corners = {s.username: s.corner for s in layout.series}
        distances = {u: np.hypot(placed.typed[0] - x, placed.typed[1] - y) for u, (x, y) in corners.items()}
        assert min(distances, key=distances.get) == winner


def test_a_plain_polygon_would_put_some_texts_nearer_another_corner():
    """Why the slices: among 4 accounts, (0.4, 0.3, 0.3, 0) averaged over a square's corners lies nearer
    the second corner than the first; the map turns it into the first account's slice."""
    corners = charts.corner_directions(4)
    p = np.array([0.4, 0.3, 0.3, 0.0])
    plain = p @ corners
    assert np.argmin(np.hypot(*(corners - plain).T)) != 0
    placed = charts.place_by_probabilities(p, corners)[0]
    assert np.argmin(np.hypot(*(corners - placed).T)) == 0
    assert np.hypot(*placed) == pytest.approx(np.hypot(*plain))  # as far from the centre: as unsure


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_the_map_fits_its_view_box_and_every_dot_lies_in_its_posts_most_probable_part(k):
    rows = probability_rows(k, n=500)
    columns = [f"id-{i}" for i in range(k)]
    layout = charts.map_layout(rows, long_names(k), columns, totals={"id-0": 1200})
    assert [s.username for s in layout.series] == sorted(long_names(k).values())
    corners = np.array([s.corner for s in sorted(layout.series, key=lambda s: s.username)])
    for series in layout.series:
        assert series.shown == charts.MAX_POINTS_PER_ACCOUNT  # a seeded sample of at most 300
        for point in series.points:
            assert 0 <= point.x <= layout.width and 0 <= point.y <= layout.height
            assert point.path.startswith("M") and point.path.endswith("Z")
        x, y = series.label
        assert x >= 0 and x + charts.LABEL_EM * 15 * len(series.label_text) <= layout.width + 0.1
        assert 10 <= y <= layout.height
        assert series.region.startswith("M") and series.region.endswith("Z")
    assert layout.series[0].total == 1200 and layout.series[1].total == 500
    boxes = [(s.label[0], s.label[0] + charts.LABEL_EM * 15 * len(s.label_text), s.label[1]) for s in layout.series]
    for i, (left, right, y) in enumerate(boxes):  # no two labels on one line overlap
        for other_left, other_right, other_y in boxes[i + 1 :]:
            assert abs(y - other_y) >= 15 or right <= other_left or other_right <= left
    if k > 2:  # (on a line the dots are spread across it; the sides are still the halves)
        sample = {s.username: s for s in layout.series}
        picked = charts.subsample(500, charts.MAX_POINTS_PER_ACCOUNT)
        for i in range(k):
            owners = np.argmax(rows[f"id-{i}"][picked], axis=1)
            for point, owner in zip(sample[long_names(k)[f"id-{i}"]].points, owners):
                assert np.argmin(np.hypot(corners[:, 0] - point.x, corners[:, 1] - point.y)) == owner


def test_the_map_is_deterministic_and_reused_for_every_text():
    rows, columns = probability_rows(3), ["id-0", "id-1", "id-2"]
    first, second = charts.map_layout(rows, names(3), columns), charts.map_layout(rows, names(3), columns)
    assert [p.path for p in first.series[0].points] == [p.path for p in second.series[0].points]
    a, b = charts.tweet_map(first, np.array([0.9, 0.05, 0.05])), charts.tweet_map(first, np.array([0.1, 0.1, 0.8]))
    assert a.series is b.series and (a.nearest, b.nearest) == ("acct0", "acct2")
    even = charts.tweet_map(first, np.ones(3) / 3)  # no evidence either way: the centre
    assert even.typed == pytest.approx(first.centre, abs=0.1)


def test_corners_are_a_regular_polygon():
    for k in range(3, 11):
        corners = charts.corner_directions(k)
        assert np.allclose(np.hypot(*corners.T), 1)
        sides = np.hypot(*(corners - np.roll(corners, 1, axis=0)).T)
        assert np.allclose(sides, sides[0])
    assert charts.corner_directions(2).tolist() == [[-1.0, 0.0], [1.0, 0.0]]


def test_subsample_keeps_all_when_small_and_is_sorted():
    assert list(charts.subsample(5, 10)) == [0, 1, 2, 3, 4]
    picked = charts.subsample(1000, 300, seed=3)
    assert len(picked) == 300 == len(set(picked)) and list(picked) == sorted(picked)


def test_styles_are_stable_and_distinct():
    styles = charts.styles_for(["zed", "Amy", "bob", "carl"])
    assert [styles[u].index for u in ("Amy", "bob", "carl", "zed")] == [0, 1, 2, 3]
    assert styles == charts.styles_for(["carl", "zed", "bob", "Amy"])
    assert len({s.shape for s in styles.values()}) == 4 and len({s.colour for s in styles.values()}) == 4
    assert styles["Amy"].css_class == "series-0"


def test_ten_accounts_are_ten_looks():
    styles = charts.styles_for([f"acct{i:02d}" for i in range(10)])
    assert len({(s.colour, s.shape) for s in styles.values()}) == 10


@pytest.mark.parametrize("shape", charts.SHAPES)
def test_every_marker_shape_is_a_closed_path_near_its_centre(shape):
    path = charts.marker_path(shape, 50, 40, 5)
    assert path.startswith("M") and path.endswith("Z")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.split("a")[0])]
    assert numbers and all(abs(n - 50) < 8 or abs(n - 40) < 8 or abs(n) < 12 for n in numbers)


def test_unknown_marker_shape_is_refused():
    with pytest.raises(ValueError):
        charts.marker_path("hexagon", 0, 0, 1)


def test_month_counts_fill_the_gaps_and_keep_the_newest_months():
    per_month = {date(2021, 11, 1): 2, date(2022, 2, 1): 2, date(2022, 3, 1): 0}
    assert monthly.month_counts(per_month) == [
        (date(2021, 11, 1), 2),
        (date(2021, 12, 1), 0),
        (date(2022, 1, 1), 0),
        (date(2022, 2, 1), 2),
    ]
    assert monthly.month_counts({}) == []
    long = {date(2010 + i // 12, i % 12 + 1, 1): 1 for i in range(60)}
    kept = monthly.month_counts(long, max_months=36)
    assert len(kept) == 36 and kept[-1] == (date(2014, 12, 1), 1)


def test_tweets_per_month_counts_each_stored_tweet_in_its_calendar_month(seed, app_ctx):
    """The database's aggregate against the stored times counted one by one, at the months' edges."""
    from twitapp.extensions import db
    from twitapp.models import Tweet
    from twitapp.services import accounts

    moments = [
        datetime(2021, 11, 30, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(2021, 12, 1, 0, 0, tzinfo=UTC),
        datetime(2021, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2022, 2, 1, 12, tzinfo=UTC),
        datetime(2022, 2, 28, 23, 59, 59, tzinfo=UTC),
        datetime(2023, 1, 1, 0, 0, 1, tzinfo=UTC),
    ]
    seed("Months", [(m, f"post {i}") for i, m in enumerate(moments)])
    seed("Other", [(datetime(2021, 10, 5, tzinfo=UTC), "another account's post")])
    account = accounts.get_account(db.session, "Months")
    stored = db.session.scalars(select(Tweet.created_at).where(Tweet.account_id == account.id))
    one_by_one = Counter(date(t.year, t.month, 1) for t in stored)
    assert (
        accounts.tweets_per_month(db.session, account)
        == one_by_one
        == {
            date(2021, 11, 1): 1,
            date(2021, 12, 1): 2,
            date(2022, 2, 1): 2,
            date(2023, 1, 1): 1,
        }
    )
    assert sum(n for _, n in monthly.month_counts(one_by_one)) == len(moments)


def test_month_chart_geometry():
    counts = [(date(2021, 12, 1), 10), (date(2022, 1, 1), 0), (date(2022, 2, 1), 5), (date(2022, 3, 1), 1000)]
    chart = monthly.month_chart(counts, width=400, height=100, top=10, bottom=20)
    assert chart.peak == 1000 and chart.total == 1015 and chart.baseline == 80
    tallest = chart.bars[3]
    assert tallest.y == pytest.approx(10) and tallest.height == pytest.approx(70)
    assert chart.bars[1].height == 0
    assert chart.bars[0].height >= 1.5  # a small month still shows
    for bar in chart.bars:
        assert bar.x >= 0 and bar.x + bar.width <= 400 and bar.y + bar.height == pytest.approx(80)
    assert [label for _, label in chart.ticks] == ["2021", "2022"]
    assert chart.busiest.month == date(2022, 3, 1) and chart.busiest.label == "Mar 2022"
    assert chart.first == date(2021, 12, 1) and chart.last == date(2022, 3, 1)


def test_month_chart_of_one_year_labels_months_and_of_nothing_is_empty():
    chart = monthly.month_chart([(date(2022, m, 1), m) for m in range(1, 13)])
    assert [label for _, label in chart.ticks][:2] == ["Jan", "Mar"]
    empty = monthly.month_chart([])
    assert empty.bars == [] and empty.busiest is None and empty.first is None


@dataclass
class Ev:
    term: str
    weight: float
    spans: tuple


def test_highlight_cuts_the_text_at_the_spans():
    text = "Big banks must pay. Banks!"
    pieces = highlight(text, [Ev("banks", 2.0, ((4, 9), (20, 25))), Ev("pay", 1.0, ((15, 18),))])
    assert "".join(p.text for p in pieces) == text
    marked = [(p.text, p.term, p.rank) for p in pieces if p.term]
    assert marked == [("banks", "banks", 1), ("pay", "pay", 2), ("Banks", "banks", 1)]


def test_highlight_gives_overlaps_to_the_stronger_and_ignores_bad_spans():
    text = "fair share"
    pieces = highlight(text, [Ev("fair share", 3, ((0, 10),)), Ev("share", 1, ((5, 10), (40, 50)))])
    assert [(p.text, p.rank) for p in pieces] == [("fair share", 1)]
    assert highlight(text, []) == [Piece("fair share")]
    assert highlight("", [Ev("x", 1, ((0, 3),))]) == []
