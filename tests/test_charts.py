"""The pictures' geometry (services/charts.py): PCA map, tweets per month, styles; highlighted evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pytest

from twitapp.services import charts
from twitapp.web.highlight import Piece, highlight


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def two_clusters(n: int = 80, dim: int = 20, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = np.zeros(dim)
    a[0] = 1
    b = np.zeros(dim)
    b[1] = 1
    return {"id-a": unit(a + 0.1 * rng.normal(size=(n, dim))), "id-b": unit(b + 0.1 * rng.normal(size=(n, dim)))}


def test_projection_separates_clusters_on_the_first_axis():
    vectors = two_clusters()
    projection = charts.fit_projection(vectors)
    xa, xb = projection.points["id-a"][:, 0], projection.points["id-b"][:, 0]
    assert (xa.max() < xb.min()) or (xb.max() < xa.min())  # the main direction is the one between them
    assert projection.components.shape == (2, 20)
    assert np.allclose(projection.components @ projection.components.T, np.eye(2), atol=1e-8)
    assert projection.explained[0] > projection.explained[1] > 0
    assert sum(projection.explained) <= 1 + 1e-9


def test_projection_is_deterministic_and_subsampled():
    vectors = two_clusters(n=500)
    first = charts.fit_projection(vectors, max_per_account=300)
    second = charts.fit_projection(vectors, max_per_account=300)
    assert first.points["id-a"].shape == (300, 2) and first.points["id-b"].shape == (300, 2)
    assert np.array_equal(first.points["id-a"], second.points["id-a"])
    assert np.array_equal(first.components, second.components)


def test_projecting_a_stored_tweet_gives_its_point():
    vectors = two_clusters(n=30)
    projection = charts.fit_projection(vectors)
    assert np.allclose(projection.project(vectors["id-a"][3] * 7.5), projection.points["id-a"][3])


def test_subsample_keeps_all_when_small_and_is_sorted():
    assert list(charts.subsample(5, 10)) == [0, 1, 2, 3, 4]
    picked = charts.subsample(1000, 300, seed=3)
    assert len(picked) == 300 == len(set(picked)) and list(picked) == sorted(picked)


def test_tweet_map_fits_the_view_box_and_marks_the_typed_tweet():
    vectors = two_clusters()
    projection = charts.fit_projection(vectors)
    typed = vectors["id-b"][0] + 0.01
    layout = charts.map_layout(
        projection,
        {"id-a": "Alice", "id-b": "bob"},
        totals={"id-a": 80, "id-b": 1200},
        width=640,
        height=400,
        margin=18,
    )
    tweet_map = charts.tweet_map(layout, typed)
    assert [s.username for s in tweet_map.series] == ["Alice", "bob"]  # by name, case-insensitively
    for series in tweet_map.series:
        for point in series.points:
            assert 18 - 0.1 <= point.x <= 622 + 0.1 and 18 - 0.1 <= point.y <= 382 + 0.1
            assert point.path.startswith("M") and point.path.endswith("Z")
    assert 0 <= tweet_map.typed[0] <= 640 and 0 <= tweet_map.typed[1] <= 400
    assert tweet_map.nearest == "bob"
    assert tweet_map.series[1].total == 1200 and tweet_map.series[1].shown == 80
    assert tweet_map.points_shown == 160
    shapes = {s.style.shape for s in tweet_map.series}
    colours = {s.style.colour for s in tweet_map.series}
    assert len(shapes) == 2 and len(colours) == 2  # colour is never the only difference


def test_tweet_map_handles_a_typed_tweet_far_outside_the_cloud():
    vectors = two_clusters(n=10)
    projection = charts.fit_projection(vectors)
    far = np.zeros(20)
    far[5] = 1  # orthogonal to both clusters: lands near the mean, inside
    far = far - 5 * projection.components[0]
    layout = charts.map_layout(projection, {"id-a": "a", "id-b": "b"}, width=300, height=200, margin=10)
    tweet_map = charts.tweet_map(layout, far)
    assert 10 - 0.1 <= tweet_map.typed[0] <= 290 + 0.1 and 10 - 0.1 <= tweet_map.typed[1] <= 190 + 0.1


def test_the_layout_is_reused_for_every_typed_tweet():
    vectors = two_clusters()
    layout = charts.map_layout(charts.fit_projection(vectors), {"id-a": "a", "id-b": "b"})
    first, second = charts.tweet_map(layout, vectors["id-a"][0]), charts.tweet_map(layout, vectors["id-b"][0])
    assert first.series is second.series  # the sample's geometry is built once per fitted set
    assert (first.nearest, second.nearest) == ("a", "b") and first.typed != second.typed


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
    moments = [datetime(2021, 11, 3), datetime(2021, 11, 30), datetime(2022, 2, 1, 23, 59), date(2022, 2, 14)]
    assert charts.month_counts(moments) == [
        (date(2021, 11, 1), 2),
        (date(2021, 12, 1), 0),
        (date(2022, 1, 1), 0),
        (date(2022, 2, 1), 2),
    ]
    assert charts.month_counts([]) == []
    long = [datetime(2010 + i // 12, i % 12 + 1, 1) for i in range(60)]
    kept = charts.month_counts(long, max_months=36)
    assert len(kept) == 36 and kept[-1] == (date(2014, 12, 1), 1)


def test_month_chart_geometry():
    counts = [(date(2021, 12, 1), 10), (date(2022, 1, 1), 0), (date(2022, 2, 1), 5), (date(2022, 3, 1), 1000)]
    chart = charts.month_chart(counts, width=400, height=100, top=10, bottom=20)
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
    chart = charts.month_chart([(date(2022, m, 1), m) for m in range(1, 13)])
    assert [label for _, label in chart.ticks][:2] == ["Jan", "Mar"]
    empty = charts.month_chart([])
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
