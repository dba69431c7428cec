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

A one-snapshot export (a bank's CSV with a label, such as Churn_Modelling.csv through its
mapping) has a single labelled as_of_date: there is no later date to validate or test on. Its
split is cross-sectional (:class:`CrossSectionalSplit`): customers are assigned at random,
stratified by the label, to train / validation / test (60 / 20 / 20 by default). Every row is
one customer at the same date, so no label window can leak from one part into another; what the
test part measures is how the model ranks customers it has not seen, not how it holds up over
time, and there is no rolling-origin backtest. :func:`choose_split` picks the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_HORIZON_DAYS = 90
# Cross-sectional split shares (train, validation, test).
CROSS_SECTIONAL_SHARES = (0.6, 0.2, 0.2)
SPLIT_KINDS = ("auto", "time", "cross_sectional")


class SplitError(ValueError):
    """The panel has too few as_of_dates for the requested split."""


@dataclass(frozen=True)
class TimeSplit:
    train_dates: tuple[pd.Timestamp, ...]
    validation_dates: tuple[pd.Timestamp, ...]
    test_date: pd.Timestamp
    horizon_days: int

    kind = "time"

    def masks(self, as_of: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
        d = pd.to_datetime(as_of)
        return (d.isin(self.train_dates), d.isin(self.validation_dates), d == self.test_date)

    def panel_masks(self, panel: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
        return self.masks(panel["as_of_date"])

    def describe(self) -> dict:
        return {
            "split_kind": self.kind,
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


@dataclass(frozen=True)
class CrossSectionalSplit:
    """Customers of one labelled as_of_date, assigned at random to train / validation / test.

    The assignment is stratified by the label (each part has the panel's churn rate) and
    depends only on the customer ids, the labels and the seed, never on the panel's row order.
    """

    as_of_date: pd.Timestamp
    horizon_days: int
    seed: int = 42
    shares: tuple[float, float, float] = CROSS_SECTIONAL_SHARES
    label_column: str = "churned_within_horizon"

    kind = "cross_sectional"

    def assign(self, panel: pd.DataFrame) -> np.ndarray:
        """Per row: 0 train, 1 validation, 2 test (-1 for rows of another date)."""
        on_date = (pd.to_datetime(panel["as_of_date"]) == self.as_of_date).to_numpy()
        out = np.full(len(panel), -1, dtype=np.int8)
        ids = panel["customer_id"].astype(str).to_numpy()
        y = pd.to_numeric(panel[self.label_column].astype("Float64"), errors="coerce").to_numpy(na_value=np.nan)
        rng = np.random.default_rng(self.seed)
        for cls in (0.0, 1.0):
            rows = np.flatnonzero(on_date & (y == cls))
            rows = rows[np.argsort(ids[rows], kind="stable")]
            rows = rows[rng.permutation(len(rows))]
            n_train = int(round(len(rows) * self.shares[0]))
            n_val = int(round(len(rows) * self.shares[1]))
            out[rows[:n_train]] = 0
            out[rows[n_train:n_train + n_val]] = 1
            out[rows[n_train + n_val:]] = 2
        return out

    def panel_masks(self, panel: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
        part = pd.Series(self.assign(panel), index=panel.index)
        return part == 0, part == 1, part == 2

    @property
    def test_date(self) -> pd.Timestamp:
        return self.as_of_date

    def describe(self) -> dict:
        day = self.as_of_date.date().isoformat()
        return {
            "split_kind": self.kind,
            "train_start": day, "train_end": day, "train_dates": 1,
            "validation_start": day, "validation_end": day, "validation_dates": 1,
            "test_as_of_date": day,
            "horizon_days": self.horizon_days,
            "shares": {"train": self.shares[0], "validation": self.shares[1], "test": self.shares[2]},
            "stratified_by": self.label_column,
            "seed": self.seed,
        }


def choose_split(dates: list[pd.Timestamp], *, kind: str = "auto", horizon_days: int = DEFAULT_HORIZON_DAYS,
                 validation_dates: int = 3, seed: int = 42) -> TimeSplit | CrossSectionalSplit:
    """The split for a training panel: time-aware when it has several labelled as_of_dates,
    cross-sectional when it has one (``kind="auto"``); ``kind`` may force either."""
    if kind not in SPLIT_KINDS:
        raise ValueError(f"split kind must be one of {SPLIT_KINDS}, got {kind!r}")
    dates = sorted(pd.Timestamp(d) for d in dates)
    if not dates:
        raise SplitError("the panel has no as_of_date")
    if kind == "cross_sectional" or (kind == "auto" and len(dates) == 1):
        if len(dates) != 1:
            raise SplitError(f"a cross-sectional split needs one labelled as_of_date; the panel has {len(dates)}")
        return CrossSectionalSplit(dates[0], horizon_days, seed=seed)
    try:
        return make_split(dates, horizon_days=horizon_days, validation_dates=validation_dates)
    except SplitError:
        if validation_dates == 1:
            raise
        return make_split(dates, horizon_days=horizon_days, validation_dates=1)
