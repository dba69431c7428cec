"""The latent monthly process of the synthetic bank (docs/simulator.md).

Each month: the market moves, events hit customers (complaints and their handling,
competitor rate moves, product maturities, relationship-manager turnover, life events), the
latent disengagement ``d`` of every customer is updated, the churn hazard is drawn, and the
month's observable data (transactions, logins, interactions, month-end balances) is generated
from the latent state. At every month-end the exact expected hazards of the next months give
the true probability of churning within the label horizon (include/bank_simulator/truth.py).

Every random draw comes from a stream keyed by (seed, stream, month), so a table's content does
not depend on the others' and the churn draws (common random numbers) stay the same when only
retention treatments change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from include.bank_simulator import arrow_utils as au
from include.bank_simulator.params import HAZARD_SEASON, START_MONTH, TXN_SEASON, ProcessParams
from include.bank_simulator.population import (
    CARD,
    CITY_NAMES,
    CITY_TIER,
    CUR,
    EDUCATIONS,
    EMAIL_DOMAINS,
    FUND,
    GENDERS,
    GIVEN,
    INS,
    LOAN,
    OCCUPATIONS,
    OTHER_BANKS,
    PAYROLL,
    PRODUCT_TYPES,
    SEGMENTS,
    SURNAMES,
    TD,
    WM,
    Population,
    build_population,
)
from include.bank_simulator.truth import RM_SEGMENT_WEIGHT, expected_churn_probability, horizon_weights
from include.contract import Contract

US_PER_DAY = 86_400_000_000

# Streams of random numbers (one generator per stream and month).
S_INIT, S_MARKET, S_EVENTS, S_CHURN, S_TXN, S_DIGITAL, S_SERVICE, S_BALANCE, S_PRODUCTS = range(9)

PENDING, ALIVE, CHURNED = 0, 1, 2

# Complaint severity 1..5 and the chance it is resolved within the month it was raised.
SEVERITY_P = np.array([0.30, 0.30, 0.20, 0.13, 0.07])
RESOLVED_IN_MONTH_P = np.array([0.75, 0.65, 0.5, 0.4, 0.3])
COMPLAINT_CATEGORIES = ["fees", "service_attitude", "waiting_time", "product", "digital_channel", "other"]
COMPLAINT_CATEGORY_P = np.array([0.25, 0.2, 0.2, 0.15, 0.12, 0.08])
INTERACTION_KINDS = ["complaint", "inquiry", "survey"]

TXN_TYPES = ["salary", "deposit", "withdrawal", "payment", "transfer_in", "transfer_out_internal",
             "transfer_out_other_bank", "investment_purchase", "investment_redemption", "loan_repayment",
             "fee", "interest"]
(T_SALARY, T_DEPOSIT, T_WITHDRAWAL, T_PAYMENT, T_TRANSFER_IN, T_OUT_INTERNAL, T_OUT_OTHER,
 T_INV_PURCHASE, T_INV_REDEMPTION, T_LOAN_REPAY, T_FEE, T_INTEREST) = range(12)
DIRECTION_IN = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1], dtype=bool)
# Everyday transactions (other than the scheduled salary, loan repayment and interest).
REGULAR_TYPES = np.array([T_PAYMENT, T_WITHDRAWAL, T_DEPOSIT, T_TRANSFER_IN, T_OUT_INTERNAL,
                          T_INV_PURCHASE, T_INV_REDEMPTION, T_FEE])
REGULAR_CUM = np.cumsum([0.45, 0.12, 0.08, 0.11, 0.12, 0.045, 0.035, 0.04])
REGULAR_CUM = REGULAR_CUM / REGULAR_CUM[-1]
# log-amount location per type (CNY).
AMOUNT_MU = np.array([9.0, 7.6, 6.6, 5.0, 7.5, 7.0, 8.2, 9.4, 9.3, 8.0, 2.5, 3.0])
CHANNELS = ["branch", "atm", "mobile", "online", "pos"]
CH_BRANCH, CH_ATM, CH_MOBILE, CH_ONLINE, CH_POS = range(5)
# Hour-of-day profile: morning, lunch and evening peaks.
HOUR_W = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 3.0, 4.5, 5.0, 5.5, 6.5, 5.5, 4.5, 4.5,
                   4.5, 5.0, 6.0, 6.8, 6.5, 5.0, 3.0, 1.2])
HOUR_CUM = np.cumsum(HOUR_W) / HOUR_W.sum()
# Lookup tables indexed by 12 random bits: a table gather is much cheaper than a searchsorted.
_GRID12 = (np.arange(4096) + 0.5) / 4096
HOUR_LUT = np.minimum(np.searchsorted(HOUR_CUM, _GRID12, side="right"), 23).astype(np.int32)
REGULAR_LUT = REGULAR_TYPES[np.minimum(np.searchsorted(REGULAR_CUM, _GRID12, side="right"),
                                       len(REGULAR_TYPES) - 1)].astype(np.int8)
AMOUNT_MU32 = AMOUNT_MU.astype(np.float32)


def month_calendar(n_months: int) -> tuple[np.ndarray, np.ndarray]:
    """(first day, last day) of each month, as days since 1970-01-01."""
    months = START_MONTH + np.arange(n_months + 1)
    starts = months.astype("datetime64[D]").astype(np.int64)
    return starts[:-1], starts[1:] - 1


def month_label(t: int) -> str:
    return str(START_MONTH + t)


class _ProductStore:
    """Growable columns of the products table (a row can be closed later)."""

    def __init__(self, capacity: int):
        self.n = 0
        self.cust = np.empty(capacity, np.int64)
        self.ptype = np.empty(capacity, np.int64)
        self.gen = np.empty(capacity, np.int64)
        self.open_day = np.empty(capacity, np.int64)
        self.close_day = np.empty(capacity, np.int64)
        self.maturity_day = np.empty(capacity, np.int64)

    def add(self, cust, ptype, gen, open_day, maturity_day) -> np.ndarray:
        k = len(cust)
        if self.n + k > len(self.cust):
            cap = max(2 * len(self.cust), self.n + k)
            for name in ("cust", "ptype", "gen", "open_day", "close_day", "maturity_day"):
                old = getattr(self, name)
                new = np.empty(cap, np.int64)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        sl = slice(self.n, self.n + k)
        self.cust[sl] = cust
        self.ptype[sl] = ptype
        self.gen[sl] = gen
        self.open_day[sl] = open_day
        self.close_day[sl] = -1
        self.maturity_day[sl] = maturity_day
        rows = np.arange(self.n, self.n + k)
        self.n += k
        return rows


@dataclass(frozen=True)
class Deferred:
    """A table whose rows are decided but whose Arrow columns are built later, by the writer thread."""

    rows: int
    build: Callable[[], pa.Table]


@dataclass
class SimulationResult:
    counts: dict[str, int] = field(default_factory=dict)
    monthly_churn_rate: list[float] = field(default_factory=list)
    churn_day: np.ndarray | None = None
    churn_type: np.ndarray | None = None
    churn_cause: np.ndarray | None = None
    population: Population | None = None
    final_d: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


class _Clock:
    """Main-thread CPU seconds per phase (reported by the benchmark; never part of the written output)."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self._last = time.thread_time()

    def lap(self, name: str) -> None:
        now = time.thread_time()
        self.totals[name] = round(self.totals.get(name, 0.0) + now - self._last, 3)
        self._last = now


def spread_long_run(competition: np.ndarray) -> np.ndarray:
    """Each city's long-run competitor spread: fiercer competition, a wider spread."""
    return 0.003 + 0.0015 * (competition - 0.5)


BURN_IN_MONTHS = 48


def months_before_the_window(pop: Population, p: ProcessParams, rng: np.random.Generator, start_day: int,
                             months: int = BURN_IN_MONTHS) -> tuple[np.ndarray, np.ndarray]:
    """Who of ``pop`` stayed through the ``months`` before the window start, and their d then.

    The same latent process in outline, with each customer's traits as at the window start:
    disengagement moves with noise, complaints, job changes, a manager leaving, maturities and
    the competitor spread at its long-run level, and the monthly hazard thins the customers on
    the books. Without it the window would start with customers whom their own risk had not
    thinned yet, and its first months' churn would run high (the riskiest leaving first).
    Customers who join inside the window are not thinned. In outline: a customer's month has at
    most one of a complaint, a job change and a manager leaving, and at most one maturity (all
    rare), and a manager leaves one customer at a time.
    """
    n = pop.n
    d = rng.normal(p.d_init_mean, p.d_init_sd, n)
    stayed = np.ones(n, dtype=bool)
    on_book = (start_day - pop.onboard_day) / 30.4375  # months on the books at the window start
    order = np.argsort(-on_book, kind="stable")
    order = order[on_book[order] >= 1.0]  # longest on the books first: month by month a growing prefix
    on_book = on_book[order]
    f32 = np.float32

    def take(x):
        return np.asarray(x)[order].astype(f32)

    spread_gap = (spread_long_run(pop.competition)[pop.city] - p.spread_ref) / 0.01
    base = take(p.alpha + pop.loyalty)
    beta = take(p.beta * pop.beta_scale)
    drift = take(p.spread_effect * pop.spread_sens * spread_gap)
    pc = take(p.complaint_base + p.complaint_slope * pop.service_sens)
    g = take(0.3 + pop.service_sens)
    job_or_rm = take(p.job_change_prob + pop.has_rm * p.rm_turnover_prob)
    rm_shock = take(p.rm_turnover_shock * RM_SEGMENT_WEIGHT[pop.segment])
    td_rate = take(pop.holds[:, TD] / pop.td_term)
    wm_rate = take(pop.holds[:, WM] / pop.wm_term)
    mat_shock = take(p.maturity_shock * pop.rate_sens)
    mat_hazard = take(pop.maturity_pull * (p.maturity_hazard + p.maturity_spread_k * spread_gap))
    cum_sev = np.cumsum(SEVERITY_P)
    dd = d[order].astype(f32)
    alive = np.ones(len(order), dtype=bool)
    for before in range(months, 0, -1):
        k = int(np.searchsorted(-on_book, -before, side="right"))  # customers on the books by then
        if k == 0:
            continue
        u_event, u_mat, u_h = rng.random((3, k), dtype=f32)
        shock = drift[:k] + f32(p.noise_sd) * rng.standard_normal(k, dtype=f32)
        complaint = np.flatnonzero(u_event < pc[:k])
        if len(complaint):
            sev = np.minimum(np.searchsorted(cum_sev, u_event[complaint] / pc[complaint], side="right"), 4) + 1
            resolved = rng.random(len(complaint)) < RESOLVED_IN_MONTH_P[sev - 1]
            size = np.where(resolved, p.complaint_resolved_shock, p.complaint_unresolved_shock)
            shock[complaint] += (size * g[complaint] * sev / 3.0).astype(f32)
        # one uniform for the rarer events: a job change below job_change_prob, a manager leaving above it
        u_rare = (u_event - pc[:k]) / (1 - pc[:k])
        job = (u_rare >= 0) & (u_rare < f32(p.job_change_prob))
        shock += job * f32(p.job_change_shock) + ((u_rare >= f32(p.job_change_prob)) & (u_rare < job_or_rm[:k])) * rm_shock[:k]
        mat = (u_mat < td_rate[:k]) | (u_mat > 1 - wm_rate[:k])
        shock += mat * mat_shock[:k]
        dd[:k] = f32(p.rho) * dd[:k] + shock
        logh = base[:k] + beta[:k] * dd[:k] + mat * mat_hazard[:k]
        logh += f32(p.new_customer_hazard) * (on_book[:k] - before < p.new_customer_months)
        alive[:k] &= u_h >= np.minimum(f32(p.hazard_cap), np.exp(logh))
    stayed[order] = alive
    d[order] = dd
    return stayed, d


def _rng(seed: int, stream: int, t: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, t + 1])))


class BankSimulation:
    def __init__(self, n_customers: int, n_months: int, seed: int, params: ProcessParams,
                 contract: Contract, horizon_days: int = 90,
                 treatment: np.ndarray | None = None):
        if n_customers < 1 or n_customers > 9_999_999:
            raise ValueError(f"customers must be between 1 and 9,999,999 (got {n_customers})")
        if n_months < 2:
            raise ValueError(f"months must be at least 2 (got {n_months})")
        self.n = n_customers
        self.m = n_months
        self.seed = seed
        self.p = params
        self.contract = contract
        self.horizon_days = horizon_days
        self.ms, self.me = month_calendar(n_months + 8)
        # treatment[i, t] = hazard multiplier of customer i in month t (months beyond the window too).
        self.treatment = treatment

    # ------------------------------------------------------------------ set-up
    def _setup(self):
        p = self.p
        n = self.n
        start = int(self.ms[0])
        # The bank at the window start holds the customers who stayed through the months before
        # it: a larger pool is drawn, thinned by those months, and the first n who stayed are kept.
        pool_n = int(n * 1.8) + 256
        while True:
            rng = _rng(self.seed, S_INIT, -1)
            pool = build_population(pool_n, rng, start, self.m, self.ms[: self.m], p)
            stayed, d_start = months_before_the_window(pool, p, _rng(self.seed, S_INIT, 20_000), start)
            kept = np.flatnonzero(stayed)[:n]
            if len(kept) == n:
                break
            pool_n *= 2
        pop = pool.take(kept)
        self.pop = pop
        self.state = np.where(pop.onboard_day < start, ALIVE, PENDING).astype(np.int8)
        self.d = np.where(pop.onboard_day < start, d_start[kept], rng.normal(p.d_init_mean, p.d_init_sd, n))
        self.churn_day = np.full(n, -1, np.int64)
        self.churn_type = np.full(n, -1, np.int8)  # 0 account_closure, 1 assets_drained
        self.churn_cause = np.full(n, -1, np.int8)  # 0 disengagement, 1 sudden (life event)
        self.churn_month = np.full(n, -1, np.int64)
        self.holds = pop.holds.copy()
        self.level = np.zeros(n)  # log growth of assets
        self.prev_total = np.full(n, np.nan)

        # Relationship managers: about 150 customers each, per branch.
        n_branches = len(pop.branch_city)
        rm_per_branch = np.maximum(1, np.bincount(pop.branch[pop.has_rm], minlength=n_branches) // 150 + 1)
        first = np.concatenate([[0], np.cumsum(rm_per_branch)[:-1]])
        slot = rng.integers(0, 1 << 30, n) % rm_per_branch[pop.branch]
        self.rm = np.where(pop.has_rm, first[pop.branch] + slot + 1, 0).astype(np.int64)
        self.n_rm = int(rm_per_branch.sum())
        self.rm_branch = np.concatenate([[0], np.repeat(np.arange(n_branches), rm_per_branch)])
        back = (rng.uniform(0, 5 * 365, n)).astype(np.int64)
        first_assign = np.maximum(pop.onboard_day, start - 1 - back)
        has = pop.has_rm
        self.rm_rows = [(np.flatnonzero(has), self.rm[has].copy(), first_assign[has])]

        # Products: initial holdings. Time deposits and wealth products have a next maturity month.
        self.products = _ProductStore(int(n * 4.5) + 1024)
        self.prod_row = np.full((n, 8), -1, np.int64)
        self.gen = np.zeros((n, 8), np.int64)
        self.mat_month = np.full((n, 8), 10_000, np.int64)
        onb_month = np.searchsorted(self.ms[: self.m], pop.onboard_day, side="right") - 1  # -1: before window
        for k in range(8):
            who = np.flatnonzero(self.holds[:, k])
            if len(who) == 0:
                continue
            onb = pop.onboard_day[who]
            if k in (TD, WM):
                term = (pop.td_term if k == TD else pop.wm_term)[who]
                om = onb_month[who]
                nxt = np.where(om >= 0, om + term, rng.integers(0, 1 << 30, len(who)) % term)
                mday = self.ms[np.minimum(nxt, len(self.ms) - 1)] + rng.integers(0, 28, len(who))
                mday = np.where(nxt >= len(self.ms), self.ms[-1] + 31 * (nxt - len(self.ms) + 1), mday)
                # who joins inside the window opens it on joining; others term months before it matures
                open_day = np.where(om >= 0, onb, np.maximum(onb, mday - term * 30))
                self.mat_month[who, k] = nxt
            elif k == LOAN:
                open_day = np.maximum(onb, start - (pop.loan_paid_frac[who] * pop.loan_term[who] * 30).astype(np.int64))
                mday = open_day + pop.loan_term[who] * 30
            else:
                span = np.maximum(start - onb, 1)
                open_day = np.where(onb >= start, onb, onb + rng.integers(0, 1 << 40, len(who)) % span)
                if k == CUR:
                    open_day = onb
                mday = np.full(len(who), -1, np.int64)
            self.prod_row[who, k] = self.products.add(who, np.full(len(who), k), np.zeros(len(who), np.int64),
                                                      open_day, mday)

        # Market: per-city long-run competitor spread.
        ncity = len(CITY_NAMES)
        self.spread_mu = spread_long_run(pop.competition)
        self.spread = self.spread_mu + rng.normal(0, p.spread_sd / np.sqrt(1 - p.spread_phi**2), ncity)
        self.ncity = ncity
        self.ids = {"txn": 0, "interaction": 0}
        # Customer and product id prefixes, built once and gathered per row.
        self.cid_words = au.id_words("C", np.arange(1, n + 1), 7)
        self.pid_words = au.id_words("P", np.arange(1, n + 1), 7)

    # ------------------------------------------------------------------ helpers
    def _hazard_season(self, t: np.ndarray | int) -> np.ndarray:
        cal = (np.asarray(t) + int(str(START_MONTH)[5:7]) - 1) % 12
        return self.p.hazard_season_amplitude / 0.8 * HAZARD_SEASON[cal]

    def _treat(self, t: int) -> np.ndarray | float:
        if self.treatment is None or t >= self.treatment.shape[1]:
            return 1.0
        return self.treatment[:, t]

    def _new_customer_term(self, t: int, idx: np.ndarray | None = None) -> np.ndarray:
        """Known log-hazard offset of month t for customers in their first new_customer_months."""
        onboard = self.pop.onboard_day if idx is None else self.pop.onboard_day[idx]
        months_on_book = (int(self.ms[t]) - onboard) / 30.4375
        return self.p.new_customer_hazard * (months_on_book < self.p.new_customer_months)

    def maturity_count(self, t: int) -> np.ndarray:
        return (self.mat_month[:, TD] == t).astype(np.int64) + (self.mat_month[:, WM] == t)

    # ------------------------------------------------------------------ main loop
    def run(self, emit: Callable[[str, str | None, pa.Table | Deferred], None],
            emit_truth: Callable[..., None]) -> SimulationResult:
        """Simulate every month.

        ``emit(table, month_label or None, data)`` receives each table (an Arrow table, or a
        :class:`Deferred` whose Arrow columns are built by the writer); ``emit_truth(t, as_of_day,
        customers, probabilities, labels, labeled)`` receives each month-end's truth once every
        churn inside its horizon is known.
        """
        clock = _Clock()
        self._setup()
        clock.lap("setup")
        p, pop, n = self.p, self.pop, self.n
        res = SimulationResult(population=pop)
        counts = {k: 0 for k in ("transactions", "digital_activity", "balance_snapshots")}
        interactions: list[dict[str, np.ndarray]] = []
        pending_truth: list[tuple[int, np.ndarray, Future]] = []
        # The truth of a month-end is computed on a thread of its own from copies of that
        # month-end's state, while the next months are simulated (numpy releases the GIL).
        truth_thread = ThreadPoolExecutor(1, thread_name_prefix="truth")
        data_end = int(self.me[self.m - 1])
        market_rows = []
        seg_w = RM_SEGMENT_WEIGHT[pop.segment]
        g_ss = 0.3 + pop.service_sens

        for t in range(self.m):
            ms, me = int(self.ms[t]), int(self.me[t])
            nd = me - ms + 1
            cal = (t + int(str(START_MONTH)[5:7]) - 1) % 12

            # --- market
            rm_ = _rng(self.seed, S_MARKET, t)
            if t > 0:
                jumps = (rm_.random(self.ncity) < p.spread_jump_prob).astype(float) - p.spread_jump_prob
                self.spread = (self.spread_mu + p.spread_phi * (self.spread - self.spread_mu)
                               + p.spread_sd * rm_.standard_normal(self.ncity) + p.spread_jump * jumps)
            else:
                rm_.standard_normal(self.ncity)
            bench = 0.015 - 0.001 * (t >= 6) - 0.0025 * (t >= 9) - 0.0015 * (t >= 16)
            equity = rm_.normal(0.004, 0.045)
            market_rows.append((me, self.spread.copy(), bench, equity,
                                np.clip(pop.competition + 0.01 * t / 12 + rm_.normal(0, 0.01, self.ncity), 0, 1)))

            # --- who is here this month
            alive = (self.state == ALIVE)
            new = (self.state == PENDING) & (pop.onboard_day <= me)
            self.state[new] = ALIVE
            ai = np.flatnonzero(alive)

            # --- events (customers alive at the month start)
            re = _rng(self.seed, S_EVENTS, t)
            shock = np.zeros(n)
            pc = p.complaint_base + p.complaint_slope * pop.service_sens
            # Every per-customer draw is a full-length array taken in a fixed order, so one
            # customer's fate never shifts another's random numbers (treatment effects stay clean).
            u_comp, u_sev, u_res, u_job, u_pay, u_dip, u_rmday = (re.random(n) for _ in range(7))
            noise = re.standard_normal(n)
            leave_u = re.random(self.n_rm + 1)
            comp = alive & (u_comp < pc)
            ci = np.flatnonzero(comp)
            sev = np.minimum(np.searchsorted(np.cumsum(SEVERITY_P), u_sev[ci], side="right"), 4) + 1
            res_in_month = u_res[ci] < RESOLVED_IN_MONTH_P[sev - 1]
            size = np.where(res_in_month, p.complaint_resolved_shock, p.complaint_unresolved_shock)
            shock[ci] += size * g_ss[ci] * sev / 3.0
            # relationship-manager turnover: a manager leaves, customers get a new one
            leave = np.flatnonzero(leave_u < p.rm_turnover_prob)
            leave = leave[leave > 0]
            moved = alive & np.isin(self.rm, leave)
            mi = np.flatnonzero(moved)
            if len(leave):
                new_ids = self.n_rm + 1 + np.arange(len(leave))
                self.rm_branch = np.concatenate([self.rm_branch, self.rm_branch[leave]])
                self.n_rm += len(leave)
                remap = dict(zip(leave.tolist(), new_ids.tolist(), strict=True))
                old = self.rm[mi]
                self.rm[mi] = np.array([remap[x] for x in old.tolist()], dtype=np.int64) if len(mi) else old
                self.rm_rows.append((mi, self.rm[mi].copy(), ms + (u_rmday[mi] * nd).astype(np.int64)))
            shock[mi] += p.rm_turnover_shock * seg_w[mi]
            job = alive & (u_job < p.job_change_prob)
            shock[job] += p.job_change_shock
            payroll_lost = job & self.holds[:, PAYROLL] & (u_pay < p.payroll_loss_prob)
            mat = self.maturity_count(t) * alive
            shock += p.maturity_shock * pop.rate_sens * mat
            shock += (p.spread_effect * pop.spread_sens * (self.spread[pop.city] - p.spread_ref) / 0.01)
            self.d[ai] = p.rho * self.d[ai] + shock[ai] + p.noise_sd * noise[ai]

            # --- churn
            rc = _rng(self.seed, S_CHURN, t)
            u_h, u_r, u_s, u_day, u_type = (rc.random(n) for _ in range(5))
            mat_term = pop.maturity_pull * mat * (p.maturity_hazard + p.maturity_spread_k
                                              * (self.spread[pop.city] - p.spread_ref) / 0.01)
            logh = (p.alpha + pop.loyalty + p.beta * pop.beta_scale * self.d + self._hazard_season(t) + mat_term
                    + self._new_customer_term(t))
            h = np.minimum(p.hazard_cap, np.exp(logh) * self._treat(t))
            reloc = u_r < p.relocation_prob
            ch_d = alive & (u_h < h)
            ch_s = alive & reloc & (u_s < p.relocation_churn_prob)
            churn = ch_d | ch_s
            chi = np.flatnonzero(churn)
            self.churn_day[chi] = ms + (u_day[chi] * nd).astype(np.int64)
            self.churn_type[chi] = (u_type[chi] < p.assets_drained_prob).astype(np.int8)
            self.churn_cause[chi] = np.where(ch_d[chi], 0, 1)
            self.churn_month[chi] = t
            self.state[chi] = CHURNED
            res.monthly_churn_rate.append(float(len(chi) / max(len(ai), 1)))

            # --- activity window this month
            act = alive | new
            a_day = np.maximum(ms, pop.onboard_day)
            b_day = np.where(churn, self.churn_day - 1, me)
            act &= b_day >= a_day
            dpos = np.maximum(self.d, 0.0)
            # This month's activity multiplier (transactions and logins): a random dip (holiday,
            # illness), and more activity while the customer is more engaged than usual (d < 0).
            dip = (np.where(u_dip < p.dip_prob, p.dip_factor, 1.0)
                   * np.exp(p.engaged_activity_k * np.minimum(np.maximum(-self.d, 0.0), p.engaged_cap)))

            # --- products: maturities, payroll loss, closures
            self._products_month(t, ms, me, nd, churn, payroll_lost)
            clock.lap("process")

            # --- observable tables
            tx = self._transactions(t, ms, me, nd, cal, act, a_day, b_day, dpos, dip, churn)
            counts["transactions"] += tx.rows
            clock.lap("transactions")
            emit("transactions", month_label(t), tx)
            clock.lap("writer_wait")
            del tx
            da = self._digital(t, ms, nd, act, a_day, b_day, dpos, dip)
            counts["digital_activity"] += da.rows
            clock.lap("digital_activity")
            emit("digital_activity", month_label(t), da)
            clock.lap("writer_wait")
            del da
            interactions.append(self._interactions(t, ms, me, nd, act, a_day, b_day, ci, sev, res_in_month, dpos))
            bs = self._balances(t, ms, me, cal, act, churn, dpos, equity)
            counts["balance_snapshots"] += bs.rows
            clock.lap("balances_interactions")
            emit("balance_snapshots", month_label(t), bs)
            clock.lap("writer_wait")
            del bs

            # --- truth at this month-end; handed on once the horizon's churns are known
            alive_end = np.flatnonzero((self.state == ALIVE) & (pop.onboard_day <= me))
            pending_truth.append((t, alive_end.astype(np.int32),
                                  truth_thread.submit(expected_churn_probability, p, **self._truth_state(t, alive_end))))
            while pending_truth and self.me[pending_truth[0][0]] + self.horizon_days <= me:
                self._emit_truth(emit_truth, *pending_truth.pop(0), data_end)
            clock.lap("truth")

        for item in pending_truth:
            self._emit_truth(emit_truth, *item, data_end)
        truth_thread.shutdown()
        # --- tables written once
        tables = {
            "customers": self._customers_table(),
            "rm_assignments": self._rm_table(),
            "products": self._products_table(),
            "service_interactions": self._interactions_table(interactions),
            "market_environment": self._market_table(market_rows),
            "churn_events": self._churn_table(),
        }
        for name, table in tables.items():
            counts[name] = table.num_rows
            emit(name, None, table)
        clock.lap("once_only_tables")
        res.counts = counts
        res.timings = clock.totals
        res.churn_day = self.churn_day
        res.churn_type = self.churn_type
        res.churn_cause = self.churn_cause
        res.final_d = self.d
        return res

    # ------------------------------------------------------------------ truth
    def _emit_truth(self, emit_truth, t: int, cust: np.ndarray, prob: Future, data_end: int) -> None:
        prob = prob.result()
        as_of = int(self.me[t])
        cd = self.churn_day[cust]
        labeled = as_of + self.horizon_days <= data_end
        label = (cd > as_of) & (cd <= as_of + self.horizon_days)
        emit_truth(t, as_of, cust, prob, label, labeled)

    def _truth_state(self, t: int, idx: np.ndarray) -> dict:
        """The latent state at month-end t of customers ``idx`` that the truth needs (copies), as
        keyword arguments of expected_churn_probability."""
        pop = self.pop
        weights = horizon_weights(int(self.me[t]), self.ms, self.me, t, self.horizon_days)
        k_max = len(weights)
        td = self.mat_month[idx, TD]
        wm = self.mat_month[idx, WM]
        mats = np.zeros((len(idx), k_max), dtype=np.float64)
        for k in range(1, k_max + 1):
            mats[:, k - 1] = (td == t + k).astype(np.float64) + (wm == t + k)
        treat = None
        if self.treatment is not None:
            treat = np.ones((len(idx), k_max))
            for k in range(1, k_max + 1):
                if t + k < self.treatment.shape[1]:
                    treat[:, k - 1] = self.treatment[idx, t + k]
        season = np.array([float(self._hazard_season(t + k)) for k in range(1, k_max + 1)])
        offset = np.stack([self._new_customer_term(t + k, idx) for k in range(1, k_max + 1)], axis=1)
        return dict(
            weights=weights,
            d=self.d[idx],
            loyalty=pop.loyalty[idx],
            beta_scale=pop.beta_scale[idx],
            spread_sens=pop.spread_sens[idx],
            rate_sens=pop.rate_sens[idx],
            maturity_pull=pop.maturity_pull[idx],
            service_sens=pop.service_sens[idx],
            rm_code=np.where(self.rm[idx] > 0, pop.segment[idx], 3),
            city=pop.city[idx],
            spread_now=self.spread.copy(),
            spread_mu=self.spread_mu,
            maturity=mats,
            season=season,
            offset=offset,
            treatment=treat,
            severity_p=SEVERITY_P,
            resolved_p=RESOLVED_IN_MONTH_P,
        )

    # ------------------------------------------------------------------ products
    def _products_month(self, t, ms, me, nd, churn, payroll_lost):
        p, pop = self.p, self.pop
        rp = _rng(self.seed, S_PRODUCTS, t)
        u_roll, u_payday = rp.random(self.n), rp.random(self.n)
        # Closing customers first: a product maturing later in the churn month closes with the account.
        closing = np.flatnonzero(churn & (self.churn_type == 0))
        if len(closing):
            rows = self.prod_row[closing]
            cd = np.broadcast_to(self.churn_day[closing, None], rows.shape)
            ok = rows >= 0
            r, c = rows[ok], cd[ok]
            self.products.close_day[r] = np.where(self.products.close_day[r] < 0, c, self.products.close_day[r])
            self.holds[closing] = False
            self.mat_month[closing] = 10_000
            self.prod_row[closing] = -1
        for k, terms in ((TD, pop.td_term), (WM, pop.wm_term)):
            due = np.flatnonzero(self.mat_month[:, k] == t)
            if len(due) == 0:
                continue
            rows = self.prod_row[due, k]
            mday = self.products.maturity_day[rows]
            close = np.where(self.products.close_day[rows] < 0, mday, self.products.close_day[rows])
            # A product already closed by the customer's churn stays closed on that day.
            self.products.close_day[rows] = close
            roll = (self.state[due] == ALIVE) & (u_roll[due] < p.maturity_rollover_prob * (1.2 - 0.4 * pop.rate_sens[due]))
            ri = due[roll]
            self.gen[ri, k] += 1
            term = terms[ri]
            nxt = t + term
            new_m = np.where(nxt < len(self.ms), self.ms[np.minimum(nxt, len(self.ms) - 1)] + (mday[roll] - ms), mday[roll] + term * 30)
            self.prod_row[ri, k] = self.products.add(ri, np.full(len(ri), k), self.gen[ri, k], mday[roll], new_m)
            self.mat_month[ri, k] = nxt
            lapsed = due[~roll]
            self.holds[lapsed, k] = False
            self.mat_month[lapsed, k] = 10_000
            self.prod_row[lapsed, k] = -1
        pl = np.flatnonzero(payroll_lost & self.holds[:, PAYROLL])
        if len(pl):
            self.products.close_day[self.prod_row[pl, PAYROLL]] = ms + (u_payday[pl] * nd).astype(np.int64)
            self.holds[pl, PAYROLL] = False
            self.prod_row[pl, PAYROLL] = -1
        drained = np.flatnonzero(churn & (self.churn_type == 1))
        # Drained customers keep their accounts but stop investing: maturing products are not renewed.
        self.mat_month[drained, TD] = np.where(self.mat_month[drained, TD] < 10_000, self.mat_month[drained, TD], 10_000)

    # ------------------------------------------------------------------ transactions
    def _transactions(self, t, ms, me, nd, cal, act, a_day, b_day, dpos, dip, churn) -> Deferred:
        """One month of transactions, everything per row done with 16-bit fields of raw random words."""
        p, pop = self.p, self.pop
        rt = _rng(self.seed, S_TXN, t)
        idx = np.flatnonzero(act)
        # --- per-customer quantities (small arrays), gathered once per row through `rep`
        a_c = (a_day[idx] - ms).astype(np.int32)
        span_c = (b_day[idx] - a_day[idx] + 1).astype(np.int32)
        dpos_c = dpos[idx]
        eng = np.exp(-p.txn_engagement_k * dpos_c) * dip[idx]
        lam = pop.base_txn[idx] * TXN_SEASON[cal] * eng * span_c / nd
        cnt = rt.poisson(lam)
        rep = np.repeat(np.arange(len(idx), dtype=np.int32), cnt)
        r = len(rep)
        holds_c = self.holds[idx]
        invest_c = holds_c[:, WM] | holds_c[:, FUND]
        card_c = holds_c[:, CARD]
        ob_thr_c = (np.minimum(0.5, p.transfer_out_base * (1 + 0.5 * np.maximum(pop.loyalty_z[idx], 0))
                               + p.transfer_out_slope * dpos_c) * 65536).astype(np.int32)
        dig_c = pop.digital[idx]
        mob_thr_c = (0.7 * dig_c * 65536).astype(np.int32)
        onl_thr_c = (0.92 * dig_c * 65536).astype(np.int32)
        pos_thr_c = np.where(card_c, int(0.5 * 65536), int(0.2 * 65536)).astype(np.int32)
        logv_c = (0.3 * (pop.log_value[idx] - 9.7)).astype(np.float32)
        boost_c = np.log1p(1.5 * dpos_c).astype(np.float32)
        pd0_c = np.where(pop.payday[idx] == 0, nd - 1, pop.payday[idx] - 1).astype(np.int32)

        raw1 = rt.bit_generator.random_raw(r)
        raw2 = rt.bit_generator.random_raw(r)
        z = rt.standard_normal(r, dtype=np.float32)

        def bits(raw, shift, width):
            return ((raw >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int32)

        # --- type: transfers out to other banks grow with disengagement
        is_ob = bits(raw1, 0, 16) < ob_thr_c[rep]
        ttype = REGULAR_LUT[bits(raw1, 16, 12)]
        ttype[is_ob] = T_OUT_OTHER
        inv_row = (ttype == T_INV_PURCHASE) | (ttype == T_INV_REDEMPTION)
        ttype[inv_row & ~invest_c[rep]] = T_PAYMENT
        # --- day: uniform over the active days, with a payday rush and a month-end bump
        a = a_c[rep]
        sp = span_c[rep]
        u20 = bits(raw1, 28, 20)
        day = a + ((u20 * sp) >> 20)
        mix = bits(raw1, 48, 16)
        rush = pd0_c[rep] + (u20 & 3)
        use = (mix < int(0.18 * 65536)) & (rush >= a) & (rush < a + sp)
        day[use] = rush[use]
        eom = nd - 1 - (u20 & 1) - (u20 & 2) // 2
        use = (mix >= int(0.18 * 65536)) & (mix < int(0.27 * 65536)) & (eom >= a) & (eom < a + sp)
        day[use] = eom[use]
        hour = HOUR_LUT[bits(raw2, 0, 12)]
        secs = (bits(raw2, 12, 16) * 3600) >> 16
        ts = (day.astype(np.int64) + ms) * US_PER_DAY + (hour * 3600 + secs).astype(np.int64) * 1_000_000
        # --- channel
        u_ch = bits(raw2, 28, 16)
        v = bits(raw2, 44, 16)
        channel = np.where(v < mob_thr_c[rep], CH_MOBILE, np.where(v < onl_thr_c[rep], CH_ONLINE, CH_BRANCH)).astype(np.int8)
        wd = ttype == T_WITHDRAWAL
        channel[wd] = np.where(u_ch[wd] < int(0.8 * 65536), CH_ATM, CH_BRANCH)
        pos = (ttype == T_PAYMENT) & (u_ch < pos_thr_c[rep])
        channel[pos] = CH_POS
        # --- amount: log-normal per type, scaled by value; large transfers out when disengaged
        logamt = AMOUNT_MU32[ttype] + logv_c[rep] + np.float32(0.9) * z
        logamt[is_ob] += boost_c[rep[is_ob]]
        amount = np.exp(np.minimum(logamt, np.float32(17.0)))
        # --- product and counterparty
        code = np.zeros(r, np.int32)  # current account
        inv_row = (ttype == T_INV_PURCHASE) | (ttype == T_INV_REDEMPTION)
        code[inv_row] = np.where(holds_c[rep[inv_row], WM], WM, FUND)
        code[pos & card_c[rep]] = CARD
        cp = np.full(r, -1, np.int32)
        u_cp = bits(raw2, 60, 4)
        cp[is_ob] = np.where(u_cp[is_ob] < 13, pop.pref_bank[idx][rep[is_ob]], bits(raw1, 0, 16)[is_ob] % len(OTHER_BANKS))
        tin = (ttype == T_TRANSFER_IN) & (u_cp < 6)
        cp[tin] = u20[tin] % len(OTHER_BANKS)
        cust = idx[rep]
        del raw1, raw2, z, a, sp, u20, mix, rush, eom, use, hour, secs, u_ch, v, logamt

        # --- scheduled rows: salary on payday, loan repayment, quarterly interest, closing transfer
        extra = []
        sal = idx[holds_c[:, PAYROLL]]
        sday = np.where(pop.payday[sal] == 0, nd - 1, pop.payday[sal] - 1)
        ok = (ms + sday >= a_day[sal]) & (ms + sday <= b_day[sal])
        sal, sday = sal[ok], sday[ok]
        bonus = 2.0 if cal == 0 else 1.0
        extra.append((sal, T_SALARY, sday, 3600 * 2 + rt.integers(0, 3600, len(sal)),
                      pop.salary[sal] * bonus * np.exp(0.05 * rt.standard_normal(len(sal))), CH_ONLINE,
                      pop.pref_bank[(sal + 3) % self.n], CUR))
        ln = idx[holds_c[:, LOAN]]
        ok = (ms + 19 >= a_day[ln]) & (ms + 19 <= b_day[ln])
        ln = ln[ok]
        extra.append((ln, T_LOAN_REPAY, np.full(len(ln), 19), 3600 * 6 + rt.integers(0, 3600, len(ln)),
                      pop.loan_principal[ln] / pop.loan_term[ln] * 1.25, CH_ONLINE, np.full(len(ln), -1), LOAN))
        if cal in (2, 5, 8, 11):
            it = idx[(ms + 20 >= a_day[idx]) & (ms + 20 <= b_day[idx])]
            amt = np.maximum(0.01, pop.value[it] * 0.3 * 0.0005 * np.exp(self.level[it]))
            extra.append((it, T_INTEREST, np.full(len(it), 20), np.full(len(it), 3600), amt, CH_ONLINE,
                          np.full(len(it), -1), CUR))
        cl = np.flatnonzero(churn & (self.churn_type == 0) & (self.churn_day >= pop.onboard_day))
        amt = pop.value[cl] * np.exp(self.level[cl] - p.asset_drain_k * dpos[cl]) * 0.3
        extra.append((cl, T_OUT_OTHER, self.churn_day[cl] - ms, 3600 * 10 + rt.integers(0, 6 * 3600, len(cl)),
                      np.maximum(amt, 1.0), np.where(pop.digital[cl] > 0.5, CH_MOBILE, CH_BRANCH),
                      pop.pref_bank[cl], CUR))
        # Sweeps to the other bank where a multi-banking customer keeps the main relationship: a
        # few days after payday, part of the month's income; more often as disengagement grows.
        mb = pop.multibank[idx]
        q_sweep = 1.0 / (1.0 + (1.0 - mb) / mb * np.exp(-p.multibank_engagement_k * dpos_c))
        u_sw = rt.random((3, len(idx)))
        sw = np.flatnonzero(u_sw[0] < q_sweep)
        sw_day = pd0_c[sw] + 1 + (u_sw[1, sw] * 3).astype(np.int32)
        inside = (sw_day >= a_c[sw]) & (sw_day < a_c[sw] + span_c[sw])
        sw_day = np.where(inside, sw_day, a_c[sw] + (u_sw[1, sw] * span_c[sw]).astype(np.int32)).astype(np.int64)
        swc = idx[sw]
        extra.append((swc, T_OUT_OTHER, sw_day, 3600 * 9 + rt.integers(0, 12 * 3600, len(sw)),
                      pop.salary[swc] * (0.3 + 0.6 * u_sw[2, sw]), np.where(pop.digital[swc] > 0.5, CH_MOBILE, CH_ONLINE),
                      pop.pref_bank[swc], CUR))

        def cat(main, parts):
            return np.concatenate([main] + [np.broadcast_to(np.asarray(x), len(e[0])).astype(main.dtype)
                                            for e, x in parts])

        cust = cat(cust, [(e, e[0]) for e in extra])
        ttype = cat(ttype, [(e, e[1]) for e in extra])
        ts = cat(ts, [(e, (ms + e[2]) * US_PER_DAY + e[3] * 1_000_000) for e in extra])
        amount = cat(amount.astype(np.float64), [(e, e[4]) for e in extra])
        channel = cat(channel, [(e, e[5]) for e in extra])
        cp = cat(cp, [(e, e[6]) for e in extra])
        code = cat(code, [(e, e[7]) for e in extra])
        cust = cust.astype(np.int32)
        code = code.astype(np.int8)
        r = len(cust)
        first = self.ids["txn"]
        self.ids["txn"] += r
        gen = np.zeros(r, np.int16)
        has_gen = code == WM
        gen[has_gen] = self.gen[cust[has_gen], WM]
        spec, cid_words, pid_words = self.contract.tables["transactions"], self.cid_words, self.pid_words

        def build() -> pa.Table:
            return au.build_table(spec, {
                "transaction_id": au.fixed_ids("T", np.arange(first + 1, first + r + 1), 11),
                "customer_id": au.gather_ids(cid_words, cust),
                "product_id": au.gather_ids(pid_words, cust, au.quad_words(code.astype(np.int32) * 100 + gen)),
                "transaction_ts": au.timestamps_us(ts),
                "amount": au.money(amount),
                "direction": au.take_strings(["out", "in"], DIRECTION_IN[ttype].view(np.int8)),
                "transaction_type": au.take_strings(TXN_TYPES, ttype),
                "counterparty_bank": au.take_strings(OTHER_BANKS, np.maximum(cp, 0), mask=cp < 0),
                "channel": au.take_strings(CHANNELS, channel),
            })

        return Deferred(r, build)

    # ------------------------------------------------------------------ logins
    def _digital(self, t, ms, nd, act, a_day, b_day, dpos, dip) -> Deferred:
        """Login days: a binomial count per customer, spread over distinct days by stratified sampling."""
        p, pop = self.p, self.pop
        rd = _rng(self.seed, S_DIGITAL, t)
        idx = np.flatnonzero(act & (pop.digital > 0.05))
        span = b_day[idx] - a_day[idx] + 1
        prob = np.minimum(0.95, 0.33 * pop.digital[idx] ** 1.6 * np.exp(
            -p.login_engagement_k * dpos[idx] - p.login_loyalty_k * pop.loyalty_z[idx]) * dip[idx])
        k = rd.binomial(span, prob)
        rep = np.repeat(np.arange(len(idx), dtype=np.int32), k)
        first = np.cumsum(k) - k
        pos = np.arange(len(rep), dtype=np.int64) - first[rep]
        u = rd.random(len(rep), dtype=np.float32)
        # the j-th login falls in the j-th of k integer strata of the active days: distinct days
        sp, kk = span[rep], k[rep]
        lo = pos * sp // kk
        hi = (pos + 1) * sp // kk
        day = (a_day[idx] - ms)[rep] + lo + (u * (hi - lo)).astype(np.int64)
        cust = idx[rep]
        # logins that day: 1 + a geometric number (mean grows with digital adoption); mostly
        # one channel a day, the customer's preferred one
        raw = rd.bit_generator.random_raw(len(rep))
        u1 = ((raw & np.uint64(0xFFFFFF)).astype(np.float32) + np.float32(0.5)) / np.float32(1 << 24)
        u2 = ((raw >> np.uint64(24)) & np.uint64(0xFFFF)).astype(np.float32) / np.float32(65536)
        u3 = ((raw >> np.uint64(40)) & np.uint64(0xFFFF)).astype(np.float32) / np.float32(65536)
        mean_extra = (0.3 + 1.2 * pop.digital[idx]).astype(np.float32)[rep]
        total = 1 + (-np.log(u1) * mean_extra).astype(np.int32)
        mobile = np.where(u2 < pop.mobile_pref[idx].astype(np.float32)[rep], total, 0).astype(np.int32)
        both = (u3 < 0.12) & (total >= 2)
        mobile[both] = total[both] - 1
        spec, cid_words = self.contract.tables["digital_activity"], self.cid_words

        def build() -> pa.Table:
            return au.build_table(spec, {
                "customer_id": au.gather_ids(cid_words, cust),
                "activity_date": au.dates(ms + day),
                "mobile_logins": au.int32(mobile),
                "online_logins": au.int32(total - mobile),
            })

        return Deferred(len(cust), build)

    # ------------------------------------------------------------------ service interactions
    def _interactions(self, t, ms, me, nd, act, a_day, b_day, ci, sev, res_in_month, dpos) -> dict:
        pop = self.pop
        rs = _rng(self.seed, S_SERVICE, t)
        data_end = int(self.me[self.m - 1])
        # Complaints: raised within the customer's active days of the month.
        ok = act[ci]
        ci, sev, rim = ci[ok], sev[ok], res_in_month[ok]
        span = b_day[ci] - a_day[ci] + 1
        c_ts = (a_day[ci] + (rs.random(len(ci)) * span).astype(np.int64)) * US_PER_DAY + rs.integers(8, 20, len(ci)) * 3_600_000_000
        eom = (me + 1) * US_PER_DAY - 1
        room = np.maximum(eom - c_ts, 3_600_000_000)
        in_month = c_ts + (rs.random(len(ci)) * room).astype(np.int64)
        later = eom + (rs.exponential(20, len(ci)) * US_PER_DAY).astype(np.int64)
        never = rs.random(len(ci)) < 0.4
        c_res = np.where(rim, in_month, np.where(never, -1, later))
        c_res = np.where(c_res > (data_end + 1) * US_PER_DAY - 1, -1, c_res)
        cat = rs.choice(len(COMPLAINT_CATEGORIES), size=len(ci), p=COMPLAINT_CATEGORY_P)
        # Inquiries.
        ii = np.flatnonzero(act & (rs.random(self.n) < 0.05 + 0.05 * pop.digital))
        span_i = b_day[ii] - a_day[ii] + 1
        i_ts = (a_day[ii] + (rs.random(len(ii)) * span_i).astype(np.int64)) * US_PER_DAY + rs.integers(8, 21, len(ii)) * 3_600_000_000
        i_res = i_ts + (rs.exponential(0.5, len(ii)) * US_PER_DAY).astype(np.int64)
        i_res = np.where(i_res > (data_end + 1) * US_PER_DAY - 1, -1, i_res)
        # Surveys: more likely right after a complaint; the score reflects latent disengagement.
        p_survey = np.full(self.n, 0.035)
        p_survey[ci] += 0.4
        si = np.flatnonzero(act & (rs.random(self.n) < p_survey))
        unres = np.zeros(self.n, bool)
        unres[ci[~rim]] = True
        score = np.clip(np.rint(8.2 - 1.3 * dpos[si] - 1.8 * unres[si] - 0.6 * self.pop.service_sens[si]
                                + 1.4 * rs.standard_normal(len(si))), 1, 10)
        span_s = b_day[si] - a_day[si] + 1
        s_ts = (a_day[si] + (rs.random(len(si)) * span_s).astype(np.int64)) * US_PER_DAY + rs.integers(9, 21, len(si)) * 3_600_000_000
        s_ts += rs.integers(0, 3600, len(si)) * 1_000_000
        return {
            "cust": np.concatenate([ci, ii, si]),
            "ts": np.concatenate([c_ts, i_ts, s_ts]),
            "kind": np.concatenate([np.zeros(len(ci)), np.ones(len(ii)), np.full(len(si), 2)]).astype(np.int32),
            "cat": np.concatenate([cat, np.full(len(ii) + len(si), -1)]),
            "sev": np.concatenate([sev, np.full(len(ii) + len(si), -1)]),
            "res": np.concatenate([c_res, i_res, np.full(len(si), -1)]),
            "score": np.concatenate([np.full(len(ci) + len(ii), -1), score]).astype(np.int64),
        }

    def _interactions_table(self, parts: list[dict]) -> pa.Table:
        d = {k: np.concatenate([p_[k] for p_ in parts]) for k in parts[0]}
        r = len(d["cust"])
        return au.build_table(self.contract.tables["service_interactions"], {
            "interaction_id": au.fixed_ids("S", np.arange(1, r + 1), 11),
            "customer_id": au.fixed_ids("C", d["cust"] + 1, 7),
            "interaction_ts": au.timestamps_us(d["ts"]),
            "kind": au.take_strings(INTERACTION_KINDS, d["kind"]),
            "complaint_category": au.take_strings(COMPLAINT_CATEGORIES, np.maximum(d["cat"], 0), mask=d["cat"] < 0),
            "severity": au.int32(np.maximum(d["sev"], 0), mask=d["sev"] < 0),
            "resolved_ts": au.timestamps_us(np.maximum(d["res"], 0), mask=d["res"] < 0),
            "satisfaction_score": au.int32(np.maximum(d["score"], 0), mask=d["score"] < 0),
        })

    # ------------------------------------------------------------------ balances
    def _balances(self, t, ms, me, cal, act, churn, dpos, equity) -> Deferred:
        p, pop = self.p, self.pop
        rb = _rng(self.seed, S_BALANCE, t)
        drained_before = (self.state == CHURNED) & (self.churn_type == 1) & (self.churn_month < t)
        rows = np.flatnonzero(act | churn | drained_before)
        rows = rows[pop.onboard_day[rows] <= me]
        n = self.n
        self.level += 0.03 * rb.standard_normal(n) + 0.004
        inv_share = (pop.shares[:, 2] + pop.shares[:, 3]) / np.maximum(pop.shares.sum(axis=1), 1e-9)
        self.level += 0.5 * inv_share * equity
        season = 1.0 + 0.08 * (cal in (0, 1)) - 0.03 * (cal in (6, 7))
        total = pop.value[rows] * np.exp(self.level[rows] - p.asset_drain_k * dpos[rows]) * season
        held = self.holds[rows][:, [CUR, TD, WM, FUND, INS]].astype(float)
        held[:, 0] = 1.0
        w = pop.shares[rows] * held
        w[:, 0] = np.maximum(w[:, 0], 0.05)
        w = w / w.sum(axis=1, keepdims=True)
        fam = total[:, None] * w
        fam[:, 0] *= np.exp(0.2 * rb.standard_normal(len(rows)))
        gone = churn[rows] | drained_before[rows]
        fam[gone] = 0.0
        residual = drained_before[rows] | (churn[rows] & (self.churn_type[rows] == 1))
        fam[residual, 0] = rb.uniform(0, 50, int(residual.sum()))
        has_loan = self.holds[rows, LOAN] & ~gone
        paid = np.minimum(1.0, pop.loan_paid_frac[rows] + t / pop.loan_term[rows])
        loan = np.where(has_loan, pop.loan_principal[rows] * (1 - paid), 0.0)
        tot = fam.sum(axis=1)
        prev = self.prev_total[rows]
        avg = np.where(np.isnan(prev), tot, 0.5 * (prev + tot)) * np.exp(0.03 * rb.standard_normal(len(rows)))
        avg = np.where(gone & ~residual, 0.5 * np.nan_to_num(prev), avg)
        self.prev_total[rows] = tot
        spec, cid_words = self.contract.tables["balance_snapshots"], self.cid_words

        def build() -> pa.Table:
            return au.build_table(spec, {
                "customer_id": au.gather_ids(cid_words, rows),
                "month_end": au.dates(np.full(len(rows), me)),
                "current_balance": au.money(fam[:, 0]),
                "time_deposit_balance": au.money(fam[:, 1]),
                "wealth_management_balance": au.money(fam[:, 2]),
                "fund_balance": au.money(fam[:, 3]),
                "insurance_balance": au.money(fam[:, 4]),
                "loan_balance": au.money(loan),
                "aum_month_avg": au.money(avg),
            })

        return Deferred(len(rows), build)

    # ------------------------------------------------------------------ once-only tables
    def _customers_table(self) -> pa.Table:
        pop = self.pop
        n = self.n
        rng = _rng(self.seed, S_INIT, 10_000)
        two = rng.random(n) < 0.6

        def words(vocab, lower=False):
            arr = au.take_strings(vocab, rng.integers(0, len(vocab), n)).dictionary_decode()
            return pc.utf8_lower(arr) if lower else arr

        surname = words(SURNAMES)
        second = pc.if_else(pa.array(two), words(GIVEN, lower=True), "")
        given = pc.binary_join_element_wise(words(GIVEN), second, "")
        name = pc.binary_join_element_wise(surname, given, " ")
        local = pc.binary_join_element_wise(
            pc.utf8_lower(given), pc.utf8_lower(surname), au.fixed_ids("", rng.integers(0, 1000, n), 3), ".")
        email = pc.binary_join_element_wise(local, words(EMAIL_DOMAINS), "@")
        phone = au.fixed_ids("1", rng.integers(3_000_000_000, 9_999_999_999, n), 10)
        rm = self.rm
        rm_ids = pc.if_else(pa.array(rm > 0), au.fixed_ids("RM", np.maximum(rm, 0), 6), pa.scalar(None, pa.string()))
        return au.build_table(self.contract.tables["customers"], {
            "customer_id": au.fixed_ids("C", np.arange(1, n + 1), 7),
            "name": name,
            "gender": au.take_strings(GENDERS, pop.gender),
            "birth_date": au.dates(pop.birth_day),
            "occupation": au.take_strings(OCCUPATIONS, pop.occupation),
            "education": au.take_strings(EDUCATIONS, pop.education),
            "city": au.take_strings(CITY_NAMES, pop.city),
            "city_tier": au.int32(CITY_TIER[pop.city]),
            "phone": phone,
            "email": email,
            "onboarding_date": au.dates(pop.onboard_day),
            "segment": au.take_strings(SEGMENTS, pop.segment),
            "relationship_manager_id": rm_ids,
            "branch_id": au.fixed_ids("B", pop.branch + 1, 4),
        })

    def _rm_table(self) -> pa.Table:
        cust = np.concatenate([r[0] for r in self.rm_rows])
        rm = np.concatenate([r[1] for r in self.rm_rows])
        day = np.concatenate([r[2] for r in self.rm_rows])
        return au.build_table(self.contract.tables["rm_assignments"], {
            "customer_id": au.fixed_ids("C", cust + 1, 7),
            "relationship_manager_id": au.fixed_ids("RM", rm, 6),
            "branch_id": au.fixed_ids("B", self.rm_branch[rm] + 1, 4),
            "assigned_date": au.dates(day),
        })

    def _products_table(self) -> pa.Table:
        s = self.products
        k = s.n
        close = s.close_day[:k]
        data_end = int(self.me[self.m - 1])
        close = np.where(close > data_end, -1, close)  # closes after the extraction are not known yet
        mat = s.maturity_day[:k]
        return au.build_table(self.contract.tables["products"], {
            "product_id": au.fixed_ids("P", (s.cust[:k] + 1) * 10_000 + s.ptype[:k] * 100 + s.gen[:k], 11),
            "customer_id": au.fixed_ids("C", s.cust[:k] + 1, 7),
            "product_type": au.take_strings(PRODUCT_TYPES, s.ptype[:k]),
            "open_date": au.dates(s.open_day[:k]),
            "close_date": au.dates(np.maximum(close, 0), mask=close < 0),
            "maturity_date": au.dates(np.maximum(mat, 0), mask=mat < 0),
        })

    def _market_table(self, rows) -> pa.Table:
        nc = self.ncity
        me = np.concatenate([np.full(nc, r[0]) for r in rows])
        return au.build_table(self.contract.tables["market_environment"], {
            "month_end": au.dates(me),
            "city": au.take_strings(CITY_NAMES, np.tile(np.arange(nc), len(rows))),
            "benchmark_deposit_rate": pa.array(np.concatenate([np.full(nc, r[2]) for r in rows])),
            "competitor_rate_spread": pa.array(np.round(np.concatenate([r[1] for r in rows]), 6)),
            "equity_index_return": pa.array(np.round(np.concatenate([np.full(nc, r[3]) for r in rows]), 6)),
            "regional_competition_index": pa.array(np.round(np.concatenate([r[4] for r in rows]), 4)),
        })

    def _churn_table(self) -> pa.Table:
        ci = np.flatnonzero(self.churn_day >= 0)
        return au.build_table(self.contract.tables["churn_events"], {
            "customer_id": au.fixed_ids("C", ci + 1, 7),
            "churn_date": au.dates(self.churn_day[ci]),
            "churn_type": au.take_strings(["account_closure", "assets_drained"], self.churn_type[ci]),
        })


