"""Order statistics shared by the dehazer and the HDR code, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from vidclear.kernels._order import median, select, select_next


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1001, 40000])
def test_median_of_readings_equals_numpy(n):
    rng = np.random.default_rng(n)
    d = np.log(rng.uniform(0.01, 1.0, n)) - np.log(rng.uniform(0.01, 1.0, n))
    d[: n // 3] = d[0]  # many ties, as table differences have
    assert median(d) == np.median(d)
    big = np.concatenate([d, [1e6]])  # one far outlier: the middle bins hold everything
    assert median(big) == np.median(big)
    two = np.repeat([-1.5, 2.0], n)  # the middle pair in the first and the last bin
    assert median(two) == np.median(two) == 0.25
    few = rng.choice([-2.0, 0.5, 0.5 + 1e-12, 3.0], n)  # few distinct, nearly equal values
    assert median(few) == np.median(few)
    for k in (0, n // 3, n - 1):
        assert select(few, k) == np.sort(few)[k]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["random", "ties", "sorted", "reversed", "constant", "one"])
def test_select_equals_sorting_and_leaves_the_input(kind: str, dtype: type) -> None:
    rng = np.random.default_rng(21)
    n = 1 if kind == "one" else 2001
    a = {"random": rng.random(n), "ties": rng.integers(0, 5, n), "sorted": np.arange(n),
         "reversed": np.arange(n)[::-1], "constant": np.full(n, 0.5),
         "one": np.array([0.3])}[kind].astype(dtype)
    before = a.copy()
    ref = np.sort(a)
    for k in sorted({0, 1, n // 3, n // 2, n - 2, n - 1} & set(range(n))):
        assert select(a, k) == ref[k]
    np.testing.assert_array_equal(a, before)
    assert median(a) == pytest.approx(float(np.median(a)), rel=1e-7)


@pytest.mark.parametrize("kind", ["random", "ties", "constant", "two"])
def test_select_next_is_the_next_order_statistic(kind: str) -> None:
    rng = np.random.default_rng(22)
    a = {"random": rng.random(501), "ties": rng.integers(0, 4, 501).astype(np.float64),
         "constant": np.full(501, 0.25), "two": np.array([0.7, 0.2])}[kind].astype(np.float32)
    ref = np.sort(a)
    for k in range(a.shape[0] - 1):
        assert select_next(a, k, ref[k]) == ref[k + 1]
