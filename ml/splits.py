"""Time-aware splits of the customer-month panel (plan 2.3 "prepare train and test data").

A label at as_of_date d looks ``horizon_days`` ahead: it is only known at d + horizon. So a row
may train a model that is validated at date v only if its own label window has closed by v,
i.e. d + horizon <= v. The same gap separates validation from test. Without it, the training
labels would already contain the churn events the test window asks about.

Layout for one origin (test date T = a labeled as_of_date)::

    train dates      d + h <= min(validation dates)
    validation dates the ``validation_dates`` latest dates v with v + h <= T
    test date        T

The rolling-origin backtest repeats this for the latest ``n`` labeled dates as T.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

DEFAULT_HORIZON_DAYS = 90


class SplitError(ValueError):
    """The panel has too few as_of_dates for the requested split."""


@dataclass(frozen=True)
class TimeSplit:
    train_dates: tuple[pd.Timestamp, ...]
    validation_dates: tuple[pd.Timestamp, ...]
    test_date: pd.Timestamp
    horizon_days: int

    def masks(self, as_of: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
        d = pd.to_datetime(as_of)
        return (d.isin(self.train_dates), d.isin(self.validation_dates), d == self.test_date)

    def describe(self) -> dict:
        return {
            "train_start": self.train_dates[0].date().isoformat(),
            "train_end": self.train_dates[-1].date().isoformat(),
            "train_dates": len(self.train_dates),
            "validation_start": self.validation_dates[0].date().isoformat(),
            "validation_end": self.validation_dates[-1].date().isoformat(),
            "validation_dates": len(self.validation_dates),
            "test_as_of_date": self.test_date.date().isoformat(),
            "horizon_days": self.horizon_days,
        }


def as_of_dates(panel: pd.DataFrame) -> list[pd.Timestamp]:
    return sorted(pd.to_datetime(panel["as_of_date"]).drop_duplicates().tolist())


def make_split(dates: list[pd.Timestamp], *, test_date: pd.Timestamp | None = None,
               horizon_days: int = DEFAULT_HORIZON_DAYS, validation_dates: int = 3,
               min_train_dates: int = 2) -> TimeSplit:
    """One train/validation/test split with a one-horizon gap before validation and test."""
    dates = sorted(pd.Timestamp(d) for d in dates)
    if not dates:
        raise SplitError("the panel has no as_of_date")
    gap = pd.Timedelta(days=horizon_days)
    test = pd.Timestamp(test_date) if test_date is not None else dates[-1]
    if test not in dates:
        raise SplitError(f"test date {test.date()} is not an as_of_date of the panel")
    val_pool = [d for d in dates if d + gap <= test]
    if len(val_pool) < 1:
        raise SplitError(
            f"no as_of_date lies a full horizon ({horizon_days} days) before the test date {test.date()}"
        )
    val = val_pool[-validation_dates:]
    train = [d for d in dates if d + gap <= val[0]]
    if len(train) < min_train_dates:
        raise SplitError(
            f"only {len(train)} as_of_date(s) end their label window before validation starts "
            f"({val[0].date()}); need {min_train_dates}. The panel spans {dates[0].date()} to "
            f"{dates[-1].date()}: use fewer validation dates or a longer panel."
        )
    return TimeSplit(tuple(train), tuple(val), test, horizon_days)


def rolling_origins(dates: list[pd.Timestamp], *, n_origins: int = 6,
                    horizon_days: int = DEFAULT_HORIZON_DAYS, validation_dates: int = 3,
                    min_train_dates: int = 2) -> list[TimeSplit]:
    """Splits for the latest ``n_origins`` test dates that still leave enough history."""
    dates = sorted(pd.Timestamp(d) for d in dates)
    out: list[TimeSplit] = []
    for test in reversed(dates):
        try:
            out.append(make_split(dates, test_date=test, horizon_days=horizon_days,
                                  validation_dates=validation_dates, min_train_dates=min_train_dates))
        except SplitError:
            break
        if len(out) == n_origins:
            break
    return list(reversed(out))
