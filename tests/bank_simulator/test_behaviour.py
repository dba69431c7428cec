"""Realistic marginals and the churn mechanics on the tiny bank (plan 2.2 indicator families)."""

from __future__ import annotations

import numpy as np


def q(bank, sql):
    return bank["con"].execute(sql).fetchall()


def test_monthly_churn_rate_is_in_the_banking_range(bank):
    rates = bank["manifest"]["monthly_churn_rate"]
    assert 0.005 <= rates["mean"] <= 0.02, rates
    # the same from the data: churn events per month over customers onboarded and not yet churned
    (observed,) = q(bank, """
        WITH m AS (SELECT DISTINCT month_end FROM balance_snapshots),
        base AS (SELECT m.month_end,
                   (SELECT count(*) FROM customers c LEFT JOIN churn_events e USING (customer_id)
                    WHERE c.onboarding_date < date_trunc('month', m.month_end)
                      AND (e.churn_date IS NULL OR e.churn_date >= date_trunc('month', m.month_end))) AS active,
                   (SELECT count(*) FROM churn_events e
                    WHERE date_trunc('month', e.churn_date) = date_trunc('month', m.month_end)) AS churned
                 FROM m)
        SELECT avg(churned / active) FROM base""")[0]
    assert 0.005 <= observed <= 0.02


def test_the_window_starts_with_the_customers_who_stayed():
    """The months before the window thin the riskiest customers, so the first months' churn is not
    inflated: January's rate in the first month is close to the next January's."""
    from include.bank_simulator import DEFAULT_PARAMS
    from include.bank_simulator.population import build_population
    from include.bank_simulator.process import BankSimulation, _rng, month_calendar, months_before_the_window
    from include.contract import load_contract

    ms, _ = month_calendar(13)
    pool = build_population(30_000, _rng(7, 0, -1), int(ms[0]), 13, ms, DEFAULT_PARAMS)
    stayed, d = months_before_the_window(pool, DEFAULT_PARAMS, _rng(7, 0, 20_000), int(ms[0]))
    before = pool.onboard_day < ms[0] - 31
    assert 0.5 < stayed[before].mean() < 0.9  # the leavers were on the books before the window
    assert stayed[~before].all()  # who joins inside the window is not thinned
    assert pool.loyalty[before & stayed].mean() < pool.loyalty[before & ~stayed].mean() - 0.3
    assert d[before & stayed].mean() < d[before & ~stayed].mean()
    sim = BankSimulation(40_000, 13, 7, DEFAULT_PARAMS, load_contract())
    rates = sim.run(lambda *a: None, lambda *a: None).monthly_churn_rate
    assert rates[0] < 1.3 * rates[12], rates


def test_balances_are_heavy_tailed(bank):
    (p50, p99, top1_share) = q(bank, """
        WITH b AS (SELECT aum_month_avg::DOUBLE AS aum FROM balance_snapshots
                   WHERE month_end = DATE '2025-06-30' AND aum_month_avg > 0),
        r AS (SELECT aum, ntile(100) OVER (ORDER BY aum) AS pct FROM b)
        SELECT quantile_cont(aum, 0.5), quantile_cont(aum, 0.99),
               sum(aum) FILTER (WHERE pct = 100) / sum(aum) FROM r""")[0]
    assert p99 / p50 > 20, (p50, p99)
    assert top1_share > 0.15, top1_share


def test_payday_month_end_and_seasonal_rhythms(bank):
    by_day = dict(q(bank, """SELECT day(transaction_ts), count(*) FROM transactions
                            WHERE transaction_type NOT IN ('salary', 'interest', 'loan_repayment')
                            GROUP BY 1"""))
    quiet = np.mean([by_day[d] for d in range(3, 9)])
    assert by_day[10] > 1.3 * quiet and by_day[15] > 1.3 * quiet, by_day
    assert by_day[28] > 1.1 * quiet, by_day
    per_customer = dict(q(bank, """
        SELECT month(t.month_start), count(*) / any_value(a.active) FROM
          (SELECT date_trunc('month', transaction_ts) AS month_start FROM transactions
           WHERE transaction_type NOT IN ('salary', 'interest', 'loan_repayment')) t
        JOIN (SELECT date_trunc('month', month_end) AS month_start, count(*) AS active FROM balance_snapshots
              GROUP BY 1) a USING (month_start)
        WHERE year(t.month_start) = 2025 GROUP BY 1"""))
    assert per_customer[11] > per_customer[8] and per_customer[2] > per_customer[8], per_customer


def test_churned_customers_stop_and_close(bank):
    (late,) = q(bank, """SELECT count(*) FROM transactions t JOIN churn_events e USING (customer_id)
                         WHERE t.transaction_ts >= e.churn_date + 1""")[0]
    assert late == 0
    (late_logins,) = q(bank, """SELECT count(*) FROM digital_activity d JOIN churn_events e USING (customer_id)
                                WHERE d.activity_date >= e.churn_date""")[0]
    assert late_logins == 0
    (open_products,) = q(bank, """SELECT count(*) FROM products p JOIN churn_events e USING (customer_id)
                                  WHERE e.churn_type = 'account_closure'
                                    AND (p.close_date IS NULL OR p.close_date > e.churn_date)""")[0]
    assert open_products == 0
    (drained_aum,) = q(bank, """SELECT max(b.aum_month_avg) FROM balance_snapshots b JOIN churn_events e USING (customer_id)
                               WHERE e.churn_type = 'assets_drained' AND b.month_end > last_day(e.churn_date)""")[0]
    assert drained_aum is not None and drained_aum < 100
    (after_closure,) = q(bank, """SELECT count(*) FROM balance_snapshots b JOIN churn_events e USING (customer_id)
                                  WHERE e.churn_type = 'account_closure' AND b.month_end > last_day(e.churn_date)""")[0]
    assert after_closure == 0
    types = dict(q(bank, "SELECT churn_type, count(*) FROM churn_events GROUP BY 1"))
    assert set(types) == {"account_closure", "assets_drained"}


def _monthly_activity(bank):
    """customer x month matrix of everyday transactions (scheduled ones excluded)."""
    rows = q(bank, """SELECT customer_id, date_diff('month', DATE '2024-01-01', transaction_ts::DATE) AS m, count(*)
                      FROM transactions
                      WHERE transaction_type NOT IN ('salary', 'interest', 'loan_repayment')
                      GROUP BY ALL""")
    n = len(q(bank, "SELECT 1 FROM customers"))
    counts = np.zeros((n, 24))
    for cid, m, c in rows:
        counts[int(cid[1:]) - 1, m] = c
    return counts


def test_churners_show_leading_signals_noisily(bank):
    counts = _monthly_activity(bank)
    churn = q(bank, """SELECT e.customer_id, date_diff('month', DATE '2024-01-01', e.churn_date) AS m, t.churn_cause
                       FROM churn_events e JOIN traits t USING (customer_id)
                       JOIN customers c USING (customer_id)
                       WHERE c.onboarding_date < DATE '2024-01-01'""")
    churners = [(int(c[1:]) - 1, m) for c, m, cause in churn if m >= 9]
    assert len(churners) > 50
    pre = np.array([counts[i, m - 3:m].mean() for i, m in churners])
    base = np.array([counts[i, m - 9:m - 6].mean() for i, m in churners])
    churned_ids = {i for i, _ in churners} | {int(c[1:]) - 1 for c, _, _ in churn}
    stayers = [i for i in range(counts.shape[0]) if i not in churned_ids and counts[i, :6].sum() > 0]
    ref = int(np.median([m for _, m in churners]))
    s_pre = counts[stayers, ref - 3:ref].mean(axis=1)
    s_base = counts[stayers, ref - 9:ref - 6].mean(axis=1)
    churner_ratio = pre.sum() / base.sum()
    stayer_ratio = s_pre.sum() / s_base.sum()
    assert churner_ratio < 0.8 * stayer_ratio, (churner_ratio, stayer_ratio)
    # noisy: some churners do not slow down at all, and some customers who stay do dip
    assert np.mean(pre >= base) > 0.05
    assert np.mean(s_pre < 0.6 * s_base) > 0.02
    # some churners leave with no warning at all (sudden life events)
    assert 0 < sum(cause == "sudden_life_event" for _, _, cause in churn) < 0.3 * len(churn)


def test_transfers_out_logins_and_complaints_lead_churn(bank):
    (ob_churn, ob_stay) = q(bank, """
        WITH t AS (SELECT t.customer_id, t.transaction_type = 'transfer_out_other_bank' AS ob,
                          e.churn_date IS NOT NULL AND t.transaction_ts >= e.churn_date - INTERVAL 90 DAY AS pre
                   FROM transactions t LEFT JOIN churn_events e USING (customer_id)
                   WHERE t.transaction_type NOT IN ('salary', 'interest', 'loan_repayment'))
        SELECT avg(ob::INT) FILTER (WHERE pre), avg(ob::INT) FILTER (WHERE NOT pre) FROM t""")[0]
    assert ob_churn > 1.3 * ob_stay, (ob_churn, ob_stay)
    (login_pre, login_base) = q(bank, """
        SELECT count(*) FILTER (WHERE d.activity_date >= e.churn_date - INTERVAL 90 DAY),
               count(*) FILTER (WHERE d.activity_date < e.churn_date - INTERVAL 180 DAY
                                  AND d.activity_date >= e.churn_date - INTERVAL 270 DAY)
        FROM digital_activity d JOIN churn_events e USING (customer_id)
        WHERE e.churn_date >= DATE '2024-10-01'""")[0]
    assert login_pre < 0.85 * login_base, (login_pre, login_base)
    # unresolved complaints: per customer and 120 days, before churn vs. for customers who stay
    (c_churn, c_stay) = q(bank, """
        WITH slow AS (SELECT customer_id, interaction_ts FROM service_interactions
                      WHERE kind = 'complaint'
                        AND (resolved_ts IS NULL OR resolved_ts > interaction_ts + INTERVAL 30 DAY))
        SELECT (SELECT count(*) FROM slow s JOIN churn_events e USING (customer_id)
                WHERE s.interaction_ts >= e.churn_date - INTERVAL 120 DAY AND e.churn_date >= DATE '2024-06-01')
               / (SELECT count(*) FROM churn_events WHERE churn_date >= DATE '2024-06-01'),
               (SELECT count(*) FROM slow s ANTI JOIN churn_events e USING (customer_id)
                WHERE s.interaction_ts >= DATE '2025-01-01')
               / (SELECT count(*) FROM customers c ANTI JOIN churn_events e USING (customer_id)
                  WHERE c.onboarding_date < DATE '2025-01-01') * 120 / 365""")[0]
    assert c_churn > 1.2 * c_stay, (c_churn, c_stay)


def test_market_environment_covers_every_city_and_month(bank):
    (cities, months, rows) = q(bank, "SELECT count(DISTINCT city), count(DISTINCT month_end), count(*) FROM market_environment")[0]
    assert months == 24 and rows == cities * months
    (missing,) = q(bank, "SELECT count(*) FROM customers c ANTI JOIN market_environment m USING (city)")[0]
    assert missing == 0


def test_low_loyalty_shows_as_multi_banking(bank):
    # The least loyal fifth (highest persistent hazard offset) against the most loyal fifth:
    # fewer products held here and a larger share of outflows sent to other banks.
    rows = q(bank, """
        WITH t AS (SELECT customer_id, ntile(5) OVER (ORDER BY loyalty) AS fifth FROM traits),
        prod AS (SELECT customer_id, count(*) AS n FROM products GROUP BY customer_id),
        flows AS (SELECT customer_id,
                         sum(amount) FILTER (WHERE transaction_type = 'transfer_out_other_bank') AS ob,
                         sum(amount) AS total
                  FROM transactions WHERE direction = 'out' GROUP BY customer_id)
        SELECT t.fifth, avg(coalesce(prod.n, 0)), sum(coalesce(flows.ob, 0)) / sum(flows.total)
        FROM t LEFT JOIN prod USING (customer_id) LEFT JOIN flows USING (customer_id)
        WHERE t.fifth IN (1, 5) GROUP BY t.fifth ORDER BY t.fifth""")
    (_, products_loyal, share_loyal), (_, products_disloyal, share_disloyal) = rows
    assert products_disloyal < 0.9 * products_loyal, rows
    assert share_disloyal > 1.5 * share_loyal, rows
