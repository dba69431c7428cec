"""The true churn probability implied by the latent process, and the oracle ROC-AUC.

At a month-end t, everything latent is known: the disengagement d_t, the traits, the products
and their maturity dates, the market spread, the treatment schedule. The future disengagement is

    d_{t+k} = rho^k d_t + sum_{m=1..k} rho^(k-m) X_{t+m},

where X is the month's shock: independent Bernoulli events with known sizes (complaint by
severity and handling, relationship-manager turnover, job change), the known maturity shocks,
Gaussian noise, and the competitor-spread term whose AR(1) innovations (Gaussian plus a Bernoulli
jump) are shared across months. The maturity x spread hazard term adds the same spread innovations
(computed per customer for those with a maturity in month t+k); the first-year term is a known
offset; switching costs and the life stage give a few groups of customers their own beta (each
computed apart). The probability of churning within the horizon is the expectation, over the
coming shocks, of

    1 - prod_k (1 - f_k * (1 - (1 - h_{t+k}) (1 - q)))

with q the sudden (relocation) churn probability and f_k the share of month t+k inside the
horizon (churn days are uniform within a month). Two steps:

1. The closed form, for every customer: log h is linear in the shocks, so their moment-generating
   functions give E[h_{t+k}] (capped at the hazard cap; the Bernoulli events branch by branch,
   each branch capped given the customer's other terms, see ``_event_log_mgf``), and the product
   of the expected monthly survivals stands in for the expected product (exact to first order
   in the hazard).
2. Where that is above ``PATH_THRESHOLD``, the expectation over the paths (``_path_probability``):
   the Gaussian parts by quadrature, the large Bernoulli shocks by the first one's month and kind.
   A shock lasts, so with a strong beta the months' hazards are high together and step 1 counts
   a bad path once per month.

Both are checked against simulation (tests/bank_simulator/test_truth.py), and the calibration
against the observed churn by decile. Products bought after the as-of date that would mature
inside the horizon are not in the truth (rare: a 3-month wealth product).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from include.bank_simulator.params import ProcessParams


def horizon_weights(as_of_day: int, month_starts: np.ndarray, month_ends: np.ndarray, t: int,
                    horizon_days: int) -> np.ndarray:
    """Share of each following month that lies in (as_of, as_of + horizon_days]."""
    weights = []
    covered = 0
    k = 1
    while covered < horizon_days:
        days = int(month_ends[t + k] - month_starts[t + k] + 1)
        weights.append(min(1.0, (horizon_days - covered) / days))
        covered += days
        k += 1
    return np.array(weights)


RM_SEGMENT_WEIGHT = np.array([0.5, 1.0, 1.3])  # turnover shock by segment: mass, affluent, private
SENSITIVITY_GRID = np.linspace(0.0, 1.0, 513)  # spread sensitivity: the tabulated terms' grid


def _jump_gauss_log_mgf(p: ProcessParams, a: np.ndarray, whole: bool = True) -> np.ndarray:
    """log E[exp(a * innovation)] of one spread innovation (Gaussian plus a centred Bernoulli jump).

    ``whole=False``: the jump's centring only (the path integration takes the Gaussian part into
    its quadrature and gives the jump branches of its own).
    """
    out = -a * p.spread_jump * p.spread_jump_prob
    if whole:
        out = out + 0.5 * (a * p.spread_sd) ** 2 + np.log1p(p.spread_jump_prob * (np.exp(a * p.spread_jump) - 1.0))
    return out


def _maturity_spread_term(p: ProcessParams, k: int, c: np.ndarray, phi_pow: np.ndarray, spread_b: float,
                          rs: np.ndarray, ss: np.ndarray, mat_k: np.ndarray, city: np.ndarray,
                          spread_now: np.ndarray, spread_mu: np.ndarray, tabulated: np.ndarray,
                          whole: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Log E of the maturity x spread hazard term of month t+k, for customers with a maturity then.

    The term rs * mat * maturity_spread_k * (spread_{t+k} - spread_ref) / 1pp shares the spread
    innovations with the d path, so their joint moment-generating function is recomputed per
    customer (replacing the tabulated d-only one, ``tabulated``). ``rs``: the maturity pull (rate
    sensitivity x the life-stage factor), ``ss``: the spread sensitivity of d. Returns the term and,
    (n, k), the load of month t+j's spread innovation on the log hazard of month t+k (for the path
    integration; with ``whole=False`` the innovations are left out of the term but for the jumps'
    centring).
    """
    kb = p.maturity_spread_k / 0.01
    mean = spread_mu + phi_pow[k] * (spread_now - spread_mu) - p.spread_ref
    out = rs * mat_k * kb * mean[city] - tabulated
    load = np.empty((len(rs), k), dtype=np.float32)
    for j in range(1, k + 1):
        s_j = sum(c[m - 1] * phi_pow[m - j] for m in range(j, k + 1))
        a = ss * spread_b * s_j + rs * mat_k * kb * phi_pow[k - j]
        out += _jump_gauss_log_mgf(p, a, whole)
        load[:, j - 1] = a
    return out.astype(np.float32), load


def expected_churn_probability(
    p: ProcessParams,
    *,
    weights: np.ndarray,
    d: np.ndarray,
    loyalty: np.ndarray,
    rate_sens: np.ndarray,
    service_sens: np.ndarray,
    rm_code: np.ndarray,
    city: np.ndarray,
    spread_now: np.ndarray,
    spread_mu: np.ndarray,
    maturity: np.ndarray,
    season: np.ndarray,
    treatment: np.ndarray | None,
    severity_p: np.ndarray,
    resolved_p: np.ndarray,
    offset: np.ndarray | None = None,
    beta_scale: np.ndarray | None = None,
    spread_sens: np.ndarray | None = None,
    maturity_pull: np.ndarray | None = None,
    path_threshold: float | None = None,
) -> np.ndarray:
    """P(churn within the horizon | latent state).

    ``rm_code``: segment (0 mass, 1 affluent, 2 private banking) of customers with a relationship
    manager, 3 without one. ``spread_now``/``spread_mu``: per city. ``maturity``: (n, K) count of
    time deposits and wealth products maturing in each following month. ``treatment``: (n, K)
    hazard multipliers or None. ``offset``: (n, K) known log-hazard offsets (the new-customer
    term) or None. ``beta_scale``: per-customer multiplier of beta (switching costs, life stage;
    a few distinct values), or None; each group is computed with its own beta. ``spread_sens``: how
    strongly the competitor spread moves d (default: the rate sensitivity). ``maturity_pull``: the
    weight of the hazard's maturity term (default: the rate sensitivity).

    Every customer first gets the closed form (a product of expected monthly survivals). Where it
    is above ``path_threshold`` (default ``PATH_THRESHOLD``; 0 integrates every customer's paths,
    1 none), the probability is recomputed over the paths of the horizon (``_path_probability``):
    there the months' hazards are high and move together, and the closed form over-counts.
    """
    if spread_sens is None:
        spread_sens = rate_sens
    if maturity_pull is None:
        maturity_pull = rate_sens
    if path_threshold is None:
        path_threshold = PATH_THRESHOLD
    if beta_scale is not None:
        out = np.empty(len(d), dtype=np.float64)
        for scale in np.unique(beta_scale):
            g = np.flatnonzero(beta_scale == scale)
            out[g] = expected_churn_probability(
                replace(p, beta=p.beta * float(scale)), weights=weights, d=d[g], loyalty=loyalty[g],
                rate_sens=rate_sens[g], service_sens=service_sens[g], rm_code=rm_code[g], city=city[g],
                spread_now=spread_now, spread_mu=spread_mu, maturity=maturity[g], season=season,
                treatment=None if treatment is None else treatment[g], severity_p=severity_p,
                resolved_p=resolved_p, offset=None if offset is None else offset[g], spread_sens=spread_sens[g],
                maturity_pull=maturity_pull[g], path_threshold=path_threshold)
        return out
    state = dict(d=d, loyalty=loyalty, rate_sens=rate_sens, service_sens=service_sens, rm_code=rm_code, city=city,
                 maturity=maturity, offset=offset, spread_sens=spread_sens, maturity_pull=maturity_pull)
    market = dict(spread_now=spread_now, spread_mu=spread_mu, season=season, severity_p=severity_p,
                  resolved_p=resolved_p)
    q = p.relocation_prob * p.relocation_churn_prob
    log_e, _ = _log_hazard_terms(p, len(weights), state, market, paths=False)
    treat = None if treatment is None else treatment.T.astype(np.float32)
    out = 1.0 - _survival(p, weights, q, log_e, treat).astype(np.float64)
    rows = np.flatnonzero(out > path_threshold)
    chunks = -(-len(rows) // PATH_CHUNK)  # a chunk's paths stay in the processor's cache
    for chunk in np.array_split(rows, chunks) if chunks else ():
        sub = {k: (None if v is None else v[chunk]) for k, v in state.items()}
        out[chunk] = _path_probability(p, weights, q, sub, market, None if treat is None else treat[:, chunk])
    return out


# Customers whose closed-form probability is above this are integrated over their paths.
PATH_THRESHOLD = 0.02
PATH_CHUNK = 8192  # customers integrated together
NOISE_NODES = (8, 3)  # Gauss-Hermite points along the Gaussian paths' principal components, no event
EVENT_NOISE_NODES = (3,)  # ... and on the paths with one large event


def _survival(p: ProcessParams, weights: np.ndarray, q: float, log_h: np.ndarray,
              treat: np.ndarray | None) -> np.ndarray:
    """prod_k (1 - f_k P(churn in month k)) for the expected log hazards ``log_h`` (..., K, n).

    P(churn in month k) = 1 - (1 - h_k)(1 - q), so each factor is (1 - f_k q) - f_k (1 - q) h_k.
    """
    cap = np.float32(p.hazard_cap)
    k_max = log_h.shape[-2]
    survival = np.ones(log_h.shape[:-2] + log_h.shape[-1:], dtype=np.float32)
    e_h = np.empty_like(survival)
    for k in range(k_max):
        np.exp(log_h[..., k, :], out=e_h)
        np.minimum(e_h, cap, out=e_h)
        if treat is not None:
            e_h *= treat[k]
            np.minimum(e_h, cap, out=e_h)
        e_h *= np.float32(-weights[k] * (1.0 - q))
        e_h += np.float32(1.0 - weights[k] * q)
        survival *= e_h
    return survival


@dataclass
class SpreadLoad:
    """What one unit of month t+j's spread innovation adds to log h_{t+k}: ``per_customer``
    (K, K, n). It is the grid's (``_grid_spread_load``) at ``grid_index`` (n,) for every customer
    but ``own`` (those with a maturity due, whose maturity term adds its own)."""

    per_customer: np.ndarray
    grid_index: np.ndarray
    own: np.ndarray


def _log_hazard_terms(p: ProcessParams, k_max: int, s: dict, mk: dict,
                      paths: bool) -> tuple[np.ndarray, SpreadLoad | None]:
    """log E[h_{t+k}], k = 1..K, as a (K, n) array.

    ``paths=False``: the closed form, every shock in expectation. ``paths=True``: what the path
    integration needs: the Gaussian noise and the competitor spread's innovations left out (the
    Gaussian parts go to the quadrature, the jumps get branches) but for the jumps' centring, and
    the large events left out (they get branches); also returns the spread's load.
    """
    d, city = s["d"], s["city"]
    maturity, offset = s["maturity"], s["offset"]
    spread_sens, rate_sens, maturity_pull = s["spread_sens"], s["rate_sens"], s["maturity_pull"]
    spread_now, spread_mu = mk["spread_now"], mk["spread_mu"]
    rho_pow = p.rho ** np.arange(0, k_max + 1)
    phi_pow = p.spread_phi ** np.arange(0, k_max + 1)
    spread_b = p.spread_effect / 0.01
    # nearest grid point: the tabulated functions are smooth and the grid step is 1/512
    rs_idx = np.rint(np.clip(spread_sens, 0, 1) * 512).astype(np.intp)
    rs32 = spread_sens.astype(np.float32)
    base = (p.alpha + s["loyalty"]).astype(np.float32)
    d32 = d.astype(np.float32)
    with_mat = np.flatnonzero(maturity.any(axis=1))
    log_e = np.empty((k_max, len(d)), dtype=np.float32)
    spread_load = np.zeros((k_max, k_max, len(d)), dtype=np.float32) if paths else None
    grid_load = _grid_spread_load(p, k_max)
    own_load = np.zeros(len(d), dtype=bool)  # customers whose load is not the grid's (a maturity due)
    for k in range(1, k_max + 1):
        # c[m]: coefficient of month t+m's shock in beta * d_{t+k}
        c = np.array([p.beta * rho_pow[k - m] for m in range(1, k + 1)])
        # competitor spread: mean path (per city, linear in rate sensitivity) and the innovations
        # (Gaussian plus a centred Bernoulli jump) shared by the months, as a function of rate sensitivity
        mean_path = sum(c[m - 1] * (spread_mu + phi_pow[m] * (spread_now - spread_mu) - p.spread_ref)
                        for m in range(1, k + 1))
        spread_term = np.zeros(len(SENSITIVITY_GRID))
        for j in range(1, k + 1):
            spread_term += _jump_gauss_log_mgf(p, grid_load[k - 1, j - 1], whole=not paths)
            if paths:
                spread_load[k - 1, j - 1] = grid_load[k - 1, j - 1, rs_idx]
        # the noise: its closed-form moment-generating function, or left to the quadrature
        noise = 0.0 if paths else sum(0.5 * (cm * p.noise_sd) ** 2 for cm in c)
        row = base + np.float32(mk["season"][k - 1] + noise) + np.float32(p.beta * rho_pow[k]) * d32
        row += (spread_term.astype(np.float32))[rs_idx]
        row += rs32 * (np.float32(spread_b) * mean_path.astype(np.float32))[city]
        if offset is not None:
            row += offset[:, k - 1].astype(np.float32)
        if len(with_mat):
            mat = maturity[with_mat]
            row[with_mat] += (maturity_pull[with_mat] * p.maturity_hazard * mat[:, k - 1]
                              + rate_sens[with_mat] * p.maturity_shock * (mat[:, :k] @ c)).astype(np.float32)
            due = mat[:, k - 1] > 0
            if p.maturity_spread_k and due.any():
                rows = with_mat[due]
                term, load = _maturity_spread_term(
                    p, k, c, phi_pow, spread_b, maturity_pull[rows], spread_sens[rows], mat[due, k - 1], city[rows],
                    spread_now, spread_mu, spread_term[rs_idx[rows]], whole=not paths)
                row[rows] += term
                if paths:  # the d path's load and the maturity term's together
                    spread_load[k - 1, :k, rows] = load  # (rows, k): advanced indices first
                    own_load[rows] = True
        row += _event_log_mgf(p, c, s["service_sens"], s["rm_code"], row, mk["severity_p"], mk["resolved_p"],
                              large=not paths)
        log_e[k - 1] = row
    if not paths:
        return log_e, None
    return log_e, SpreadLoad(spread_load, rs_idx, np.flatnonzero(own_load))


def _path_probability(p: ProcessParams, weights: np.ndarray, q: float, s: dict, mk: dict,
                      treat: np.ndarray | None) -> np.ndarray:
    """P(churn within the horizon), integrated over the paths of the coming months.

    A shock to d lasts (rho) and a move of the competitor spread lasts (phi), so one bad month
    raises every later month's hazard, and with a strong beta the months' hazards are high
    together. The probability is the expectation, over the paths, of
    1 - prod_k (1 - f_k P(churn in month k | path)):

    * the Gaussian parts (d's noise, the spread's Gaussian innovations, each customer's own mix of
      the two) by quadrature (``GaussianPaths``);
    * the large Bernoulli shocks (a spread jump, an unresolved complaint by severity, a manager
      leaving, a job change) by the month of the first one and its kind: none in the horizon, or
      the first in month t+j, of kind e (probability (1 - P)^(j-1) P pi_e / sum pi, with P the
      chance of any in a month); the later months' large shocks in expectation, each branch
      capped given the paths' typical level; the months followed by less than half a month of
      the horizon take theirs in expectation too (an event there moves that month only);
    * the small shocks (a complaint resolved within the month) in expectation, each capped.
    """
    k_max = len(weights)
    base, load = _log_hazard_terms(p, k_max, s, mk, paths=True)
    spread_load = load.per_customer
    n = base.shape[1]
    rho_pow = p.rho ** np.arange(0, k_max + 1)
    # each customer's Gaussian covariance: one of the grid's, or the customer's own
    grid_cov, (grid_vals, grid_vecs) = _grid_gaussian(p, k_max)
    own_cov = _gaussian_cov(p, spread_load[:, :, load.own])
    own_vals, own_vecs = np.linalg.eigh(own_cov)
    distinct = np.concatenate([grid_cov, own_cov])
    components = (np.concatenate([grid_vals, own_vals]), np.concatenate([grid_vecs, own_vecs]))
    which = load.grid_index.copy()
    which[load.own] = len(SENSITIVITY_GRID) + np.arange(len(load.own))
    # the large events: probability per month (n,) and effect on log h_{t+k} of one in month t+j (K, K, n)
    lag = np.array([[p.beta * rho_pow[k - j] if j <= k else 0.0 for j in range(k_max)] for k in range(k_max)],
                   dtype=np.float32)[:, :, None]
    events = [(np.full(n, p.spread_jump_prob, dtype=np.float32), spread_load * np.float32(p.spread_jump))]
    events += [(prob, lag * size) for prob, size, large in
               _bernoulli_shocks(p, s["service_sens"], s["rm_code"], mk["severity_p"], mk["resolved_p"]) if large]
    probs = np.stack([e[0] for e in events]).astype(np.float64)  # (E, n)
    any_p = 1.0 - np.prod(1.0 - probs, axis=0)
    share = probs / np.maximum(probs.sum(axis=0), 1e-300)
    # the Gaussian paths' typical level of each month's log hazard (their log-normal mean)
    typical = base + (0.5 * np.diagonal(distinct, axis1=1, axis2=2)[which].T).astype(np.float32)
    headroom = np.float32(p.hazard_cap) * np.exp(-typical)
    grown = [np.exp(effect) for _, effect in events]  # the factor each large event puts on E[h]

    def in_expectation(start: int) -> np.ndarray:
        """log E-factor of the large events of months t+start+1 .. t+K on each month's hazard,
        each branch capped given the paths' typical level."""
        later = np.zeros((k_max, n), dtype=np.float32)
        for (prob, _), factor in zip(events, grown, strict=True):
            for m in range(start, k_max):
                later[m:] += prob * (np.minimum(factor[m:, m], headroom[m:]) - np.float32(1.0))
        return np.log1p(later)

    # Months whose large events get branches: those followed by at least half a month of the
    # horizon (an event in the last month only moves that month, where expectation is exact enough).
    branched = [j for j in range(k_max) if weights[j + 1:].sum() >= 0.5]
    paths = GaussianPaths(distinct, which, NOISE_NODES, components)
    paths_event = paths.coarser(EVENT_NOISE_NODES)
    churn = (1.0 - any_p) ** len(branched) * paths.churn(p, weights, q, base + in_expectation(len(branched)), treat)
    for j in branched:
        # month t+j is the first with a large event; the later months' in expectation
        first = (1.0 - any_p) ** j * any_p
        log_later = base + in_expectation(j + 1)
        for e, (_, effect) in enumerate(events):
            churn += first * share[e] * paths_event.churn(p, weights, q, log_later + effect[:, j], treat)
    return churn


@lru_cache(maxsize=64)
def _grid_spread_load(p: ProcessParams, k_max: int) -> np.ndarray:
    """(K, K, 513): what one unit of month t+j's spread innovation adds to log h_{t+k} through d,
    on the spread-sensitivity grid."""
    rho_pow = p.rho ** np.arange(0, k_max + 1)
    phi_pow = p.spread_phi ** np.arange(0, k_max + 1)
    load = np.zeros((k_max, k_max, len(SENSITIVITY_GRID)))
    for k in range(1, k_max + 1):
        for j in range(1, k + 1):
            s_j = sum(p.beta * rho_pow[k - m] * phi_pow[m - j] for m in range(j, k + 1))
            load[k - 1, j - 1] = p.spread_effect / 0.01 * SENSITIVITY_GRID * s_j
    return load


@lru_cache(maxsize=64)
def _grid_gaussian(p: ProcessParams, k_max: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The Gaussian covariances on the spread-sensitivity grid and their eigen-decompositions."""
    cov = _gaussian_cov(p, _grid_spread_load(p, k_max))
    return cov, np.linalg.eigh(cov)


def _gaussian_cov(p: ProcessParams, spread_load: np.ndarray) -> np.ndarray:
    """Covariance (n, K, K) of the Gaussian part of the log hazards of the spread loads
    ``spread_load`` (K, K, n): beta times d's noise path, plus the spread's Gaussian innovations."""
    k_max = spread_load.shape[0]
    m = np.array([[p.beta * p.noise_sd * p.rho ** (k - j) if j <= k else 0.0 for j in range(k_max)]
                  for k in range(k_max)])
    load = np.moveaxis(spread_load, 2, 0).astype(np.float64) * p.spread_sd  # (n, K, K)
    return (m @ m.T)[None] + load @ np.swapaxes(load, 1, 2)


class GaussianPaths:
    """A quadrature over each customer's Gaussian paths: customer i's covariance is
    ``distinct[which[i]]`` ((U, K, K) and (n,): customers share few distinct ones).

    The Gaussian vector is nearly one-dimensional (rho and phi are close to 1): a tensor
    Gauss-Hermite rule (``counts`` points each) runs along its first principal components, and the
    variance the rule leaves out, month by month, is taken in closed form, as a log-normal factor.
    """

    def __init__(self, distinct: np.ndarray, which: np.ndarray, counts: tuple[int, ...],
                 components: tuple | None = None):
        self.distinct, self.which = distinct, which
        self.components = components if components is not None else np.linalg.eigh(distinct)  # ascending
        vals, vecs = self.components
        dims = min(len(counts), distinct.shape[1])
        loadings = vecs[:, :, ::-1][:, :, :dims] * np.sqrt(np.clip(vals[:, ::-1][:, None, :dims], 0.0, None))
        resid = np.clip(np.diagonal(distinct, axis1=1, axis2=2) - (loadings ** 2).sum(axis=2), 0.0, None)  # (U, K)
        nodes, weights = gauss_hermite_grid(counts[:dims])
        self.weights = weights.astype(np.float32)
        # the log-hazard shift of each node, (J, K, U), then each customer's (J, K, n)
        shifts = np.tensordot(nodes, np.moveaxis(loadings, 0, 2), axes=([1], [1])) + 0.5 * resid.T[None]
        self.shifts = shifts.astype(np.float32)[:, :, which]

    def coarser(self, counts: tuple[int, ...]) -> GaussianPaths:
        """The same paths with another rule."""
        return GaussianPaths(self.distinct, self.which, counts, self.components)

    def churn(self, p: ProcessParams, weights: np.ndarray, q: float, log_h: np.ndarray,
              treat: np.ndarray | None) -> np.ndarray:
        """1 - E[survival] over the paths, for the (K, n) log hazards without the Gaussian parts."""
        return 1.0 - self.weights @ _survival(p, weights, q, log_h + self.shifts, treat)


@lru_cache(maxsize=8)
def gauss_hermite_grid(counts: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss-Hermite nodes (J, dims) and weights (J,) for standard normals."""
    rules = [np.polynomial.hermite_e.hermegauss(c) for c in counts]
    z = np.stack([g.ravel() for g in np.meshgrid(*[r[0] for r in rules], indexing="ij")], axis=1)
    weights = np.prod(np.meshgrid(*[r[1] for r in rules], indexing="ij"), axis=0).ravel()
    return z, weights / weights.sum()


def _bernoulli_shocks(p: ProcessParams, service_sens: np.ndarray, rm_code: np.ndarray, severity_p: np.ndarray,
                      resolved_p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """A month's Bernoulli shocks to d, per customer: (probability (n,), size (n,), large).

    A complaint by severity and handling (large: unresolved within the month), a relationship
    manager leaving (customers with one; ``rm_code`` 3 has none), a job change.
    """
    n = len(service_sens)
    ss = np.clip(service_sens, 0, 1).astype(np.float32)
    pc = np.float32(p.complaint_base) + np.float32(p.complaint_slope) * ss
    g = np.float32(0.3) + ss
    shocks = []
    for sev, ps, rs in zip(range(1, 6), severity_p, resolved_p, strict=True):
        for size, w, large in ((p.complaint_resolved_shock, rs, False), (p.complaint_unresolved_shock, 1 - rs, True)):
            shocks.append((pc * np.float32(ps * w), np.float32(size * sev / 3.0) * g, large))
    rm_w = np.append(RM_SEGMENT_WEIGHT, 0.0).astype(np.float32)[rm_code]
    shocks.append((np.float32(p.rm_turnover_prob) * (rm_code < 3), np.float32(p.rm_turnover_shock) * rm_w, True))
    shocks.append((np.full(n, p.job_change_prob, dtype=np.float32), np.full(n, p.job_change_shock, dtype=np.float32),
                   True))
    return shocks


def _event_log_mgf(p: ProcessParams, c: np.ndarray, service_sens: np.ndarray, rm_code: np.ndarray,
                   log_rest: np.ndarray, severity_p: np.ndarray, resolved_p: np.ndarray,
                   large: bool = True) -> np.ndarray:
    """log E[min(cap, h)] - log h_rest for the Bernoulli events of one month's hazard, per customer.

    Each event (a complaint of a given severity and handling, a relationship manager leaving, a
    job change, in each month up to this one) is a Bernoulli shock of the log hazard. Their
    moment-generating functions alone would let a rare, large shock of a customer with a strong
    beta push the expected hazard far above the cap, which the monthly hazard never exceeds, and
    their product would count two rare events in one quarter as if each multiplied the other's
    uncapped effect. So each branch contributes at most the cap given the rest of the customer's
    expected log hazard ``log_rest``, and the branches add up (first order in the event
    probabilities, like the survival product of expected_churn_probability; checked against simulation in
    tests/bank_simulator/test_truth.py). ``large=False`` leaves out the large events (an unresolved
    complaint, a manager leaving, a job change): the path integration gives them branches of their own.
    """
    headroom = np.float32(p.hazard_cap) * np.exp(-log_rest)
    shocks = [(prob, size) for prob, size, is_large in _bernoulli_shocks(p, service_sens, rm_code, severity_p,
                                                                         resolved_p) if large or not is_large]
    excess = np.zeros(len(log_rest), dtype=np.float32)
    for cm in c:
        for prob, size in shocks:
            excess += prob * (np.minimum(np.exp(np.float32(cm) * size), headroom) - np.float32(1.0))
    return np.log1p(excess)
