"""planner.floor.FootprintIndex (re-exported by planner.checks): the one overlap test the editor and
the checks use, against brute force (no Qt)."""
from __future__ import annotations

import math
import random

import pytest

from planner.checks import FootprintIndex, boxes_overlap


def random_boxes(rng, n, size=30.0):
    out = []
    for i in range(n):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        w, d = rng.choice([(0.6, 1.2), (1.2, 0.6), (0.9, 2.4), (3.0, 0.6)])
        # many boxes on the 0.3 m grid so edges touch exactly
        if i % 2:
            x, y = round(x / 0.3) * 0.3, round(y / 0.3) * 0.3
        out.append((i, (x, y, x + w, y + d)))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_pairs_and_queries_match_brute_force(seed):
    rng = random.Random(seed)
    boxes = random_boxes(rng, 300)
    index = FootprintIndex(boxes)
    brute = {(a, b) for (a, fa) in boxes for (b, fb) in boxes if a < b and boxes_overlap(fa, fb)}
    assert set(index.pairs()) == brute
    for _ in range(50):
        x, y = rng.uniform(-2, 32), rng.uniform(-2, 32)
        q = (x, y, x + 1.2, y + 0.6)
        assert sorted(index.query(q)) == sorted(k for k, f in boxes if boxes_overlap(q, f))


def test_touching_boxes_do_not_overlap_and_remove_works():
    index = FootprintIndex([("a", (0.0, 0.0, 0.6, 1.2)), ("b", (0.6, 0.0, 1.2, 1.2))])
    assert index.pairs() == [] and index.query((0.3, 0.0, 0.9, 1.2)) == ["a", "b"]
    assert index.query((0.3, 0.0, 0.9, 1.2), ignore={"a"}) == ["b"]
    index.remove("a")
    assert "a" not in index and index.query((0.0, 0.0, 0.6, 1.2)) == []
    index.add("nan", (math.nan, 0.0, 1.0, 1.0))  # an unplaced element overlaps nothing
    assert "nan" not in index


@pytest.mark.parametrize("seed", range(6))
def test_free_spot_is_the_nearest_free_grid_corner(seed):
    rng = random.Random(seed)
    bounds, step, w, d = (0.0, 0.0, 12.0, 8.0), 0.6, 1.2, 0.6
    boxes = [(i, b) for i, b in random_boxes(rng, 40, 10.0)]
    index = FootprintIndex(boxes)
    near = (rng.uniform(0, 12), rng.uniform(0, 8))
    got = index.free_spot(bounds, w, d, near, step)
    best = None
    for i in range(int((12 - w) / step + 1e-9) + 1):
        for j in range(int((8 - d) / step + 1e-9) + 1):
            x, y = i * step, j * step
            if not index.query((x, y, x + w, y + d)):
                dist = (x + w / 2 - near[0]) ** 2 + (y + d / 2 - near[1]) ** 2
                if best is None or dist < best[0] - 1e-12:
                    best = (dist, x, y)
    if best is None:
        assert got is None
    else:
        gx, gy = got
        assert not index.query((gx, gy, gx + w, gy + d))
        assert (gx + w / 2 - near[0]) ** 2 + (gy + d / 2 - near[1]) ** 2 == pytest.approx(best[0])


def test_full_floor_has_no_spot():
    index = FootprintIndex([("all", (0.0, 0.0, 3.0, 3.0))])
    assert index.free_spot((0.0, 0.0, 3.0, 3.0), 0.6, 0.6, (1.5, 1.5), 0.6) is None
    assert index.free_spot((0.0, 0.0, 1.0, 1.0), 1.2, 0.6, (0.5, 0.5), 0.6) is None  # bigger than the floor
