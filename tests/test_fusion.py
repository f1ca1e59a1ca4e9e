import pytest

from core.errors import UserError
from suggest.fusion import fuse, minmax, rrf, weighted


@pytest.mark.parametrize("rankings, k, expected", [
    ([[(1, 0.9)], [(1, 5.0)]], 60, {1: 2 / 61}),
    ([[(1, 0.9), (2, 0.8)], []], 60, {1: 1 / 61, 2: 1 / 62}),
    ([[], []], 60, {}),
    ([[(1, 0.9), (2, 0.8)], [(2, 3.0), (1, 1.0)]], 1, {1: 1 / 2 + 1 / 3, 2: 1 / 3 + 1 / 2}),
])
def test_rrf(rankings, k, expected):
    assert rrf(rankings, k) == pytest.approx(expected)


@pytest.mark.parametrize("ranking, expected", [
    ([], {}),
    ([(1, 2.0)], {1: 1.0}),
    ([(1, 2.0), (2, 2.0)], {1: 1.0, 2: 1.0}),
    ([(1, 3.0), (2, 1.0), (3, 2.0)], {1: 1.0, 2: 0.0, 3: 0.5}),
])
def test_minmax(ranking, expected):
    assert minmax(ranking) == expected


@pytest.mark.parametrize("w, expected", [
    (1.0, {1: 1.0, 2: 0.0, 3: 0.0}),
    (0.0, {1: 0.0, 2: 1.0, 3: 0.0}),
    (0.5, {1: 0.5, 2: 0.5, 3: 0.0}),
])
def test_weighted(w, expected):
    assert weighted([(1, 0.9), (2, 0.1)], [(2, 8.0), (3, 2.0)], w) == pytest.approx(expected)


@pytest.mark.parametrize("method, expected_order", [
    ("rrf", [2, 1, 3]),        # 2 is on both sides
    ("dense", [1, 2]),
    ("keyword", [2, 3]),
    ("weighted", [1, 2, 3]),  # 1 and 2 tie at 0.5: ties keep the dense order
])
def test_fuse_orders(method, expected_order):
    dense, keyword = [(1, 0.9), (2, 0.5)], [(2, 8.0), (3, 2.0)]
    assert [d for d, _ in fuse(dense, keyword, method)] == expected_order


def test_fuse_rejects_unknown_method():
    with pytest.raises(UserError, match="valid: rrf, weighted, dense, keyword"):
        fuse([], [], "magic")
