import pandas as pd
import pytest

from ml.splits import SplitError, make_split, rolling_origins

MONTH_ENDS = list(pd.date_range("2024-01-31", periods=24, freq="ME"))


def _check_gap(split):
    gap = pd.Timedelta(days=split.horizon_days)
    assert set(split.train_dates).isdisjoint(split.validation_dates)
    assert split.test_date not in split.train_dates and split.test_date not in split.validation_dates
    # No label window of a training row reaches into validation; none of validation into test.
    assert all(d + gap <= min(split.validation_dates) for d in split.train_dates)
    assert all(v + gap <= split.test_date for v in split.validation_dates)
    assert max(split.train_dates) < min(split.validation_dates) < split.test_date


def test_split_respects_a_full_horizon_between_windows():
    split = make_split(MONTH_ENDS[:21], horizon_days=90, validation_dates=3)
    _check_gap(split)
    assert split.test_date == MONTH_ENDS[20]
    assert len(split.validation_dates) == 3
    # The latest training date whose 90-day window closes before validation starts is kept.
    last_ok = max(d for d in MONTH_ENDS if d + pd.Timedelta(days=90) <= min(split.validation_dates))
    assert split.train_dates[-1] == last_ok


def test_split_masks_partition_rows_without_overlap():
    panel = pd.DataFrame({"as_of_date": [d for d in MONTH_ENDS[:21] for _ in range(3)]})
    split = make_split(MONTH_ENDS[:21])
    tr, va, te = split.masks(panel["as_of_date"])
    assert not (tr & va).any() and not (tr & te).any() and not (va & te).any()
    assert te.sum() == 3 and va.sum() == 9


def test_longer_horizon_widens_the_gap():
    short = make_split(MONTH_ENDS, horizon_days=30)
    long = make_split(MONTH_ENDS, horizon_days=180)
    _check_gap(long)
    assert long.validation_dates[-1] < short.validation_dates[-1]
    assert len(long.train_dates) < len(short.train_dates)


def test_rolling_origins_give_six_valid_splits():
    splits = rolling_origins(MONTH_ENDS[:21], n_origins=6)
    assert len(splits) == 6
    tests = [s.test_date for s in splits]
    assert tests == sorted(tests) and len(set(tests)) == 6
    assert tests[-1] == MONTH_ENDS[20]
    for s in splits:
        _check_gap(s)


def test_too_short_panel_fails_with_a_clear_message():
    with pytest.raises(SplitError, match="as_of_date"):
        make_split(MONTH_ENDS[:4], horizon_days=90)
