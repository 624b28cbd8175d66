"""analysis.stats against hand-computed values and independent references."""
import numpy as np
import pytest

from analysis import stats


def trim_mean_quarter(x):
    """scipy.stats.trim_mean(x, 0.25) written out: drop int(n/4) sorted values at each end."""
    x = np.sort(np.asarray(x, dtype=float))
    cut = int(0.25 * len(x))
    return x[cut:len(x) - cut].mean()


@pytest.mark.parametrize("n", [4, 8, 12, 40])
def test_iqm_is_trim_mean_when_n_is_a_multiple_of_four(n):
    x = np.random.default_rng(n).normal(size=n)
    assert stats.iqm(x) == pytest.approx(trim_mean_quarter(x))


@pytest.mark.parametrize("n", range(1, 14))
def test_iqm_is_trim_mean_of_the_values_repeated_four_times(n):
    # Repeating every value 4 times leaves the empirical quantile function unchanged and
    # makes the count a multiple of 4, where discrete trimming is exact.
    x = np.random.default_rng(100 + n).exponential(size=n)
    assert stats.iqm(x) == pytest.approx(trim_mean_quarter(np.repeat(x, 4)))


def test_iqm_hand_computed():
    # 3 values: the middle one fully, each outer one over [1/4, 1/3] and [2/3, 3/4].
    assert stats.iqm([10.0, 1.0, 2.0]) == pytest.approx((1 / 6) * 1 + (2 / 3) * 2 + (1 / 6) * 10)
    assert stats.iqm([5.0]) == 5.0
    assert stats.iqm([1.0, 3.0]) == 2.0
    assert stats.iqm([0, 1, 2, 3, 4, 100, -100, 2]) == pytest.approx(np.mean([1, 2, 2, 3]))


def test_iqm_along_an_axis_matches_rows():
    x = np.random.default_rng(0).normal(size=(5, 7))
    np.testing.assert_allclose(stats.iqm(x, axis=1), [stats.iqm(row) for row in x])
    np.testing.assert_allclose(stats.iqm(x, axis=0), [stats.iqm(col) for col in x.T])


def test_probability_of_improvement_hand_computed():
    # Pairs: 1<2 three times, 2=2 three times (half each), 3>2 three times -> 4.5 / 9.
    assert stats.probability_of_improvement([1, 2, 3], [2, 2, 2]) == pytest.approx(0.5)
    # 3 beats 1, 2 and ties 3; 4 beats all three -> 5.5 / 6.
    assert stats.probability_of_improvement([3, 4], [1, 2, 3]) == pytest.approx(5.5 / 6)
    assert stats.probability_of_improvement([5, 6], [1, 2]) == 1.0
    assert stats.probability_of_improvement([1, 2], [5, 6]) == 0.0
    assert stats.probability_of_improvement([1, 2], [1, 2]) == 0.5


def test_probability_of_improvement_is_complementary_and_averages_tasks():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 4, size=(6, 3)), rng.integers(0, 4, size=(5, 3))
    p_xy, p_yx = stats.probability_of_improvement(x, y), stats.probability_of_improvement(y, x)
    assert p_xy + p_yx == pytest.approx(1.0)
    per_task = [stats.probability_of_improvement(x[:, t], y[:, t]) for t in range(3)]
    assert p_xy == pytest.approx(np.mean(per_task))


def test_bootstrap_resamples_runs_within_each_task():
    x = np.array([[0, 10], [1, 11], [2, 12], [3, 13]], dtype=float)   # (runs, tasks)
    (rep,) = stats.stratified_bootstrap([x], reps=500, rng=np.random.default_rng(0))
    assert rep.shape == (500, 4, 2)
    assert set(np.unique(rep[..., 0])) <= {0, 1, 2, 3}
    assert set(np.unique(rep[..., 1])) <= {10, 11, 12, 13}
    # Strata are drawn independently: the run picked for task 1 is not always task 0's.
    assert np.any(rep[..., 1] - 10 != rep[..., 0])


@pytest.mark.parametrize("statistic,truth", [(stats.aggregate_mean, 1.5), (stats.aggregate_iqm, 1.5)])
def test_bootstrap_interval_covers_the_truth_at_about_the_nominal_rate(statistic, truth):
    # Normal data: mean and IQM of the distribution are both its centre.
    rng = np.random.default_rng(1234)
    trials, covered = 300, 0
    for _ in range(trials):
        x = rng.normal(truth, 2.0, size=30)
        est = stats.interval_estimate(statistic, x, reps=400, rng=rng)
        covered += est.low <= truth <= est.high
    assert 0.88 <= covered / trials <= 0.99


def test_interval_estimate_point_and_degenerate_cases():
    est = stats.interval_estimate(stats.aggregate_iqm, [0.1, 0.2, 0.9], reps=200)
    assert est.point == pytest.approx(stats.iqm([0.1, 0.2, 0.9]))
    assert est.low <= est.point <= est.high
    single = stats.interval_estimate(stats.aggregate_iqm, [0.4], reps=50)
    assert (single.point, single.low, single.high) == (0.4, 0.4, 0.4)
    poi = stats.interval_estimate(stats.probability_of_improvement, [3, 4], [1, 2], reps=100)
    assert (poi.point, poi.low, poi.high) == (1.0, 1.0, 1.0)


def test_interval_estimate_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        stats.interval_estimate(stats.aggregate_mean, [1.0, np.nan])
    with pytest.raises(ValueError, match="confidence"):
        stats.interval_estimate(stats.aggregate_mean, [1.0], confidence=1.5)
    with pytest.raises(ValueError, match="shape"):
        stats.interval_estimate(stats.aggregate_mean, [])


def test_curve_band():
    curves = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    mid, low, high = stats.curve_iqm_band(curves, reps=50)
    np.testing.assert_allclose(mid, [0, 1, 2])
    np.testing.assert_allclose(low, mid)
    np.testing.assert_allclose(high, mid)
    noisy = np.random.default_rng(0).normal(size=(8, 20))
    mid, low, high = stats.curve_iqm_band(noisy, reps=300)
    np.testing.assert_allclose(mid, stats.iqm(noisy, axis=0))
    assert np.all(low <= high) and np.all(high - low > 0)
