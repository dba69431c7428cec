"""The two baselines of the `indicators` benchmark, computing the customer_indicators columns for
one as_of_date straight from the raw tables:

* ``HANDWRITTEN_SQL``: one hand-written DuckDB query, the as_of_date as a constant (what an
  analyst would write for a single date, with no layers, tests or panel machinery);
* ``pandas_indicators``: the same with pandas, the way typical churn projects do it (load the
  tables into DataFrames, filter, group by, merge).

Both follow the formulas of the indicator catalog (dbt_project/models/marts/
customer_indicators.yml); the benchmark compares their output to the dbt mart column by column,
so a baseline that computed something else would show in the results.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

HANDWRITTEN_SQL = """
with pop as (
    select c.customer_id, c.city, c.birth_date, c.gender, c.occupation, c.education, c.city_tier,
           c.segment, c.onboarding_date, c.relationship_manager_id, c.credit_score, c.annual_income
    from raw.customers c
    where c.onboarding_date <= date '{d}'
      and c.customer_id not in (select customer_id from raw.churn_events where churn_date <= date '{d}')
),
has as (
    select exists(select 1 from raw.transactions) as tx, exists(select 1 from raw.products) as pr,
           exists(select 1 from raw.rm_assignments) as rm, exists(select 1 from raw.digital_activity) as da,
           exists(select 1 from raw.service_interactions where kind = 'survey') as sv,
           exists(select 1 from raw.service_interactions where kind in ('complaint', 'inquiry')) as cp
),
rm as (
    select customer_id, max(assigned_date) as last_assigned,
           count(*) filter (where assigned_date > date '{d}' - 365) as changes
    from raw.rm_assignments where assigned_date <= date '{d}' group by all
),
pr as (
    select customer_id,
        count(*) filter (where close_date is null or close_date > date '{d}') as held,
        count(*) filter (where product_type in ('current_account', 'time_deposit', 'wealth_management', 'fund',
            'insurance') and (close_date is null or close_date > date '{d}')) as asset_held,
        count(distinct product_type) filter (where close_date is null or close_date > date '{d}') as types,
        max(case when product_type = 'credit_card' and (close_date is null or close_date > date '{d}')
            then 1 else 0 end) as card,
        max(case when product_type = 'payroll_service' and (close_date is null or close_date > date '{d}')
            then 1 else 0 end) as payroll,
        count(*) filter (where close_date > date '{d}' - 90 and close_date <= date '{d}') as closed90,
        count(*) filter (where close_date > date '{d}' - 365 and close_date <= date '{d}') as closed365,
        count(*) filter (where open_date > date '{d}' - 90) as opened90,
        count(*) filter (where product_type in ('time_deposit', 'wealth_management')
            and (close_date is null or close_date > date '{d}')
            and maturity_date > date '{d}' and maturity_date <= date '{d}' + 30) as maturing30,
        count(*) filter (where product_type in ('time_deposit', 'wealth_management')
            and (close_date is null or close_date > date '{d}')
            and maturity_date > date '{d}' and maturity_date <= date '{d}' + 90) as maturing90,
        min(maturity_date - date '{d}') filter (where product_type in ('time_deposit', 'wealth_management')
            and (close_date is null or close_date > date '{d}') and maturity_date > date '{d}') as next_maturity
    from raw.products where open_date <= date '{d}' group by all
),
t as (
    select customer_id, amount, direction, transaction_type, channel,
           date '{d}' - cast(transaction_ts as date) as age
    from raw.transactions
    where transaction_ts < date '{d}' + 1 and transaction_ts >= date '{d}' - 364
),
tx as (
    select customer_id, min(age) as recency,
        count(*) filter (where age < 30) as c30, count(*) filter (where age < 90) as c90,
        count(*) filter (where age < 180) as c180, count(*) as c365,
        count(*) filter (where age >= 90 and age < 180) as cp90,
        sum(amount) filter (where age < 30) as a30, sum(amount) filter (where age < 90) as a90,
        sum(amount) filter (where age < 180) as a180, sum(amount) as a365,
        sum(amount) filter (where age >= 90 and age < 180) as ap90,
        sum(amount) filter (where age < 30 and direction = 'in') as in30,
        sum(amount) filter (where age < 90 and direction = 'in') as in90,
        sum(amount) filter (where direction = 'in') as in365,
        sum(amount) filter (where age < 30 and direction = 'out') as out30,
        sum(amount) filter (where age < 90 and direction = 'out') as out90,
        sum(amount) filter (where direction = 'out') as out365,
        sum(amount) filter (where age < 90 and transaction_type = 'transfer_out_other_bank') as ob90,
        sum(amount) filter (where transaction_type = 'transfer_out_other_bank') as ob365,
        sum(amount) filter (where age >= 90 and age < 180 and transaction_type = 'transfer_out_other_bank') as obp90,
        count(*) filter (where age < 90 and transaction_type = 'salary') as salary90,
        count(*) filter (where age < 90 and channel in ('mobile', 'online')) as dig90,
        count(*) filter (where age < 90 and channel = 'branch') as br90,
        count(*) filter (where age < 90 and channel in ('atm', 'pos')) as atm90,
        count(distinct channel) filter (where age < 90) as ch90,
        sum(amount) filter (where age < 90 and transaction_type = 'investment_redemption') as red90
    from t group by all
),
mo as (
    select customer_id, count(*) filter (where n > 0) as active_months, stddev_samp(net) as net_sd
    from (
        select customer_id, last_day(cast(transaction_ts as date)) as m, count(*) as n,
               sum(case when direction = 'in' then amount else -amount end) as net
        from raw.transactions
        where transaction_ts >= last_day(date '{d}' - 365) + 1 and last_day(cast(transaction_ts as date)) <= date '{d}'
        group by all
    ) group by all
),
lg as (
    select customer_id, min(age) as recency, sum(l) filter (where age < 30) as l30,
        sum(l) filter (where age < 90) as l90, sum(l) filter (where age >= 90 and age < 180) as lp90,
        sum(l) as l365, count(*) filter (where age < 30 and l > 0) as d30,
        count(*) filter (where age < 90 and l > 0) as d90
    from (select customer_id, mobile_logins + online_logins as l, date '{d}' - activity_date as age
          from raw.digital_activity where activity_date <= date '{d}' and activity_date > date '{d}' - 365)
    group by all
),
bal as (
    select customer_id, count(*) as n, arg_max(aum_month_avg, month_end)::double as latest,
        arg_min(aum_month_avg, month_end)::double as earliest,
        avg(aum_month_avg) filter (where month_end > date '{d}' - 90) as avg3,
        avg(aum_month_avg) filter (where month_end <= date '{d}' - 90 and month_end > date '{d}' - 181) as avgp3,
        avg(aum_month_avg) as avg12, stddev_samp(aum_month_avg) as sd12,
        arg_max(time_deposit_balance + wealth_management_balance + fund_balance, month_end)::double as inv,
        arg_max(loan_balance, month_end)::double as loan
    from raw.balance_snapshots where month_end <= date '{d}' and month_end > date '{d}' - 365 group by all
),
sv as (
    select customer_id,
        max(satisfaction_score) filter (where rn = 1) as latest,
        max(satisfaction_score) filter (where rn = 1) - max(satisfaction_score) filter (where rn = 2) as change,
        avg(satisfaction_score) filter (where age < 365) as avg365, min(age) as since,
        count(*) filter (where age < 365) as n365, count(*) filter (where age < 365 and satisfaction_score <= 4) as low
    from (select customer_id, satisfaction_score, date '{d}' - cast(interaction_ts as date) as age,
                 row_number() over (partition by customer_id order by interaction_ts desc, interaction_id desc) as rn
          from raw.service_interactions
          where kind = 'survey' and satisfaction_score is not null and interaction_ts < date '{d}' + 1)
    group by all
),
cp as (
    select customer_id,
        count(*) filter (where k and age < 30) as c30, count(*) filter (where k and age < 90) as c90,
        count(*) filter (where k and age < 180) as c180, count(*) filter (where k and age < 365) as c365,
        count(*) filter (where k and age >= 90 and age < 180) as cp90,
        count(*) filter (where k and not resolved) as unresolved,
        avg(epoch(resolved_ts) / 86400.0 - epoch(interaction_ts) / 86400.0) filter (where k and age < 365 and resolved) as res,
        max(severity) filter (where k and age < 90) as sev90, max(severity) filter (where k and age < 365) as sev365,
        count(*) filter (where k and age < 180) - count(distinct coalesce(complaint_category, 'other')) filter (where k and age < 180) as rep,
        min(age) filter (where k) as since, count(*) filter (where kind = 'inquiry' and age < 90) as inq90
    from (select *, kind = 'complaint' as k, date '{d}' - cast(interaction_ts as date) as age,
                 coalesce(resolved_ts < date '{d}' + 1, false) as resolved
          from raw.service_interactions where kind in ('complaint', 'inquiry') and interaction_ts < date '{d}' + 1)
    group by all
),
mk as (
    select city, arg_max(competitor_rate_spread, month_end) as spread,
        avg(competitor_rate_spread) filter (where month_end > date '{d}' - 90) as spread3,
        arg_max(benchmark_deposit_rate, month_end) as rate,
        arg_max(benchmark_deposit_rate, month_end) - arg_max(benchmark_deposit_rate, month_end) filter (where month_end <= date '{d}' - 90) as rate90,
        arg_max(benchmark_deposit_rate, month_end) - arg_max(benchmark_deposit_rate, month_end) filter (where month_end <= date '{d}' - 365) as rate365,
        arg_max(regional_competition_index, month_end) as comp,
        sum(equity_index_return) filter (where month_end > date '{d}' - 90) as eq3
    from raw.market_environment where month_end <= date '{d}' and month_end > date '{d}' - 456 group by all
)
select
    p.customer_id, date '{d}' as as_of_date,
    floor((date '{d}' - p.birth_date) / 365.25) as age_years, p.gender, p.occupation, p.education, p.city,
    p.city_tier, p.credit_score, p.annual_income,
    p.segment as bank_segment, date '{d}' - p.onboarding_date as tenure_days,
    case when has.rm then (rm.last_assigned is not null or p.relationship_manager_id is not null)::int end
        as has_relationship_manager,
    case when has.rm and (rm.last_assigned is not null or p.relationship_manager_id is not null)
        then date '{d}' - coalesce(rm.last_assigned, p.onboarding_date) end as rm_tenure_days,
    case when has.rm then coalesce(rm.changes, 0) end as rm_changes_365d,
    case when has.pr then coalesce(pr.held, 0) end as products_held,
    case when has.pr then coalesce(pr.asset_held, 0) end as asset_products_held,
    case when has.pr then coalesce(pr.card, 0) end as has_credit_card,
    case when has.pr then coalesce(pr.types, 0) end as product_types_held,
    case when has.pr then coalesce(pr.payroll, 0) end as has_payroll_service,
    case when has.tx then coalesce(tx.recency, 365) end as days_since_last_transaction,
    case when has.tx then coalesce(tx.c30, 0) end as transaction_count_30d,
    case when has.tx then coalesce(tx.c90, 0) end as transaction_count_90d,
    case when has.tx then coalesce(tx.c180, 0) end as transaction_count_180d,
    case when has.tx then coalesce(tx.c365, 0) end as transaction_count_365d,
    (tx.c90 - tx.cp90) / nullif(tx.cp90, 0)::double as transaction_count_trend_3m,
    case when has.tx then coalesce(tx.a30, 0)::double end as transaction_amount_30d,
    case when has.tx then coalesce(tx.a90, 0)::double end as transaction_amount_90d,
    case when has.tx then coalesce(tx.a180, 0)::double end as transaction_amount_180d,
    case when has.tx then coalesce(tx.a365, 0)::double end as transaction_amount_365d,
    (coalesce(tx.a90, 0) - coalesce(tx.ap90, 0))::double / nullif(coalesce(tx.ap90, 0), 0)::double as transaction_amount_trend_3m,
    case when has.tx then coalesce(mo.active_months, 0) end as active_months_12m,
    case when has.tx then coalesce(tx.in30, 0)::double end as inflow_amount_30d,
    case when has.tx then coalesce(tx.in90, 0)::double end as inflow_amount_90d,
    case when has.tx then coalesce(tx.out30, 0)::double end as outflow_amount_30d,
    case when has.tx then coalesce(tx.out90, 0)::double end as outflow_amount_90d,
    case when has.tx then (coalesce(tx.in30, 0) - coalesce(tx.out30, 0))::double end as net_flow_30d,
    case when has.tx then (coalesce(tx.in90, 0) - coalesce(tx.out90, 0))::double end as net_flow_90d,
    case when has.tx then (coalesce(tx.in365, 0) - coalesce(tx.out365, 0))::double end as net_flow_365d,
    mo.net_sd as net_flow_monthly_stddev_12m,
    coalesce(tx.ob90, 0)::double / nullif(coalesce(tx.out90, 0), 0)::double as other_bank_outflow_share_90d,
    coalesce(tx.ob365, 0)::double / nullif(coalesce(tx.out365, 0), 0)::double as other_bank_outflow_share_365d,
    (coalesce(tx.ob90, 0) - coalesce(tx.obp90, 0))::double / nullif(coalesce(tx.obp90, 0), 0)::double as other_bank_outflow_trend_3m,
    case when has.tx then coalesce(tx.salary90, 0) end as salary_credit_count_90d,
    case when has.tx then coalesce(tx.red90, 0)::double end as investment_redemption_amount_90d,
    tx.dig90 / nullif(tx.c90, 0)::double as digital_channel_share_90d,
    tx.br90 / nullif(tx.c90, 0)::double as branch_channel_share_90d,
    tx.atm90 / nullif(tx.c90, 0)::double as atm_pos_channel_share_90d,
    case when has.tx then coalesce(tx.ch90, 0) end as channels_used_90d,
    case when has.da then coalesce(lg.recency, 365) end as days_since_last_login,
    case when has.da then coalesce(lg.l30, 0) end as logins_30d,
    case when has.da then coalesce(lg.l90, 0) end as logins_90d,
    case when has.da then coalesce(lg.l365, 0) end as logins_365d,
    case when has.da then coalesce(lg.d30, 0) end as login_days_30d,
    case when has.da then coalesce(lg.d90, 0) end as login_days_90d,
    (lg.l90 - lg.lp90) / nullif(lg.lp90, 0)::double as login_trend_3m,
    case when has.pr then coalesce(pr.closed90, 0) end as products_closed_90d,
    case when has.pr then coalesce(pr.closed365, 0) end as products_closed_365d,
    case when has.pr then coalesce(pr.opened90, 0) end as products_opened_90d,
    case when has.pr then coalesce(pr.maturing30, 0) end as products_maturing_next_30d,
    case when has.pr then coalesce(pr.maturing90, 0) end as products_maturing_next_90d,
    pr.next_maturity as days_to_next_maturity,
    bal.latest as aum_latest, bal.avg3 as aum_avg_3m, bal.avg12 as aum_avg_12m,
    (bal.avg3 - bal.avgp3) / nullif(bal.avgp3, 0) as aum_change_3m,
    case when bal.n >= 2 then (bal.latest - bal.earliest) / nullif(bal.earliest, 0) end as aum_change_12m,
    bal.sd12 / nullif(bal.avg12, 0) as aum_volatility_12m,
    bal.inv / nullif(bal.latest, 0) as investment_share_latest, bal.loan as loan_balance_latest,
    sv.latest as satisfaction_score_latest, sv.change as satisfaction_score_change,
    sv.avg365 as satisfaction_score_avg_365d, sv.since as days_since_last_survey,
    case when has.sv then coalesce(sv.n365, 0) end as survey_count_365d,
    case when has.sv then coalesce(sv.low, 0) end as low_satisfaction_count_365d,
    case when has.cp then coalesce(cp.c30, 0) end as complaint_count_30d,
    case when has.cp then coalesce(cp.c90, 0) end as complaint_count_90d,
    case when has.cp then coalesce(cp.c180, 0) end as complaint_count_180d,
    case when has.cp then coalesce(cp.c365, 0) end as complaint_count_365d,
    case when has.cp then coalesce(cp.c90, 0) - coalesce(cp.cp90, 0) end as complaint_count_trend_3m,
    case when has.cp then coalesce(cp.unresolved, 0) end as complaints_unresolved,
    cp.res as complaint_resolution_days_avg_365d,
    case when has.cp then coalesce(cp.sev90, 0) end as complaint_severity_max_90d,
    case when has.cp then coalesce(cp.sev365, 0) end as complaint_severity_max_365d,
    case when has.cp then coalesce(cp.rep, 0) end as repeat_complaint_count_180d,
    cp.since as days_since_last_complaint,
    case when has.cp then coalesce(cp.inq90, 0) end as inquiry_count_90d,
    mk.spread as competitor_rate_spread, mk.spread3 as competitor_rate_spread_avg_3m,
    mk.rate as benchmark_deposit_rate, mk.rate90 as benchmark_rate_change_90d,
    mk.rate365 as benchmark_rate_change_365d, mk.comp as regional_competition_index,
    mk.eq3 as equity_index_return_3m
from pop p cross join has
left join rm using (customer_id) left join pr using (customer_id) left join tx using (customer_id)
left join mo using (customer_id) left join lg using (customer_id) left join bal using (customer_id)
left join sv using (customer_id) left join cp using (customer_id) left join mk on p.city = mk.city
"""


def _days(as_of: dt.date, dates: pd.Series) -> pd.Series:
    return (pd.Timestamp(as_of) - pd.to_datetime(dates).dt.normalize()).dt.days


def pandas_indicators(frames: dict[str, pd.DataFrame], as_of: dt.date) -> pd.DataFrame:
    """The customer_indicators columns for one as_of_date, with pandas."""
    d = pd.Timestamp(as_of)
    cust, churn = frames["customers"], frames["churn_events"]
    gone = set(churn.loc[pd.to_datetime(churn.churn_date) <= d, "customer_id"])
    pop = cust[(pd.to_datetime(cust.onboarding_date) <= d) & ~cust.customer_id.isin(gone)].copy()
    out = pd.DataFrame({"customer_id": pop.customer_id.to_numpy()}).set_index("customer_id")
    pop = pop.set_index("customer_id")
    out["as_of_date"] = d
    out["age_years"] = np.floor(_days(as_of, pop.birth_date) / 365.25)
    for c in ("gender", "occupation", "education", "city", "city_tier", "credit_score", "annual_income"):
        out[c] = pop[c]
    out["bank_segment"] = pop.segment
    out["tenure_days"] = _days(as_of, pop.onboarding_date)

    rm = frames["rm_assignments"]
    rm = rm[pd.to_datetime(rm.assigned_date) <= d]
    last = pd.to_datetime(rm.groupby("customer_id").assigned_date.max()).reindex(out.index)
    managed = last.notna() | pop.relationship_manager_id.notna()
    last = last.fillna(pd.to_datetime(pop.onboarding_date))
    has_rm = len(frames["rm_assignments"]) > 0
    out["has_relationship_manager"] = managed.astype(int) if has_rm else np.nan
    out["rm_tenure_days"] = (d - last).dt.days.where(managed) if has_rm else np.nan
    changes = rm[pd.to_datetime(rm.assigned_date) > d - pd.Timedelta(days=365)].groupby("customer_id").size()
    out["rm_changes_365d"] = changes.reindex(out.index, fill_value=0) if has_rm else np.nan

    pr = frames["products"].copy()
    pr["open_date"], pr["close_date"] = pd.to_datetime(pr.open_date), pd.to_datetime(pr.close_date)
    pr["maturity_date"] = pd.to_datetime(pr.maturity_date)
    pr = pr[pr.open_date <= d]
    held = pr.close_date.isna() | (pr.close_date > d)
    g = pr.assign(
        held=held, payroll=(held & (pr.product_type == "payroll_service")).astype(int),
        asset_held=held & pr.product_type.isin(["current_account", "time_deposit", "wealth_management", "fund",
                                                "insurance"]),
        card=(held & (pr.product_type == "credit_card")).astype(int),
        closed90=(pr.close_date > d - pd.Timedelta(days=90)) & (pr.close_date <= d),
        closed365=(pr.close_date > d - pd.Timedelta(days=365)) & (pr.close_date <= d),
        opened90=pr.open_date > d - pd.Timedelta(days=90),
        maturing=held & pr.product_type.isin(["time_deposit", "wealth_management"])
        & (pr.maturity_date > d) & (pr.maturity_date <= d + pd.Timedelta(days=30)),
        maturing90=held & pr.product_type.isin(["time_deposit", "wealth_management"])
        & (pr.maturity_date > d) & (pr.maturity_date <= d + pd.Timedelta(days=90)),
        to_maturity=((pr.maturity_date - d).dt.days).where(
            held & pr.product_type.isin(["time_deposit", "wealth_management"]) & (pr.maturity_date > d)),
        held_type=pr.product_type.where(held),
    ).groupby("customer_id")
    prod = pd.DataFrame({
        "products_held": g.held.sum(), "asset_products_held": g.asset_held.sum(), "has_credit_card": g.card.max(),
        "product_types_held": g.held_type.nunique(),
        "has_payroll_service": g.payroll.max(), "products_closed_90d": g.closed90.sum(),
        "products_closed_365d": g.closed365.sum(), "products_opened_90d": g.opened90.sum(),
        "products_maturing_next_30d": g.maturing.sum(), "products_maturing_next_90d": g.maturing90.sum(),
    }).reindex(out.index, fill_value=0)
    next_maturity = g.to_maturity.min().reindex(out.index)  # NULL when none: no fill

    has_pr = len(frames["products"]) > 0
    for c in ("products_held", "asset_products_held", "has_credit_card", "product_types_held", "has_payroll_service"):
        out[c] = prod[c] if has_pr else np.nan

    tx = frames["transactions"]
    tx = tx[(tx.transaction_ts < d + pd.Timedelta(days=1)) & (tx.transaction_ts >= d - pd.Timedelta(days=364))]
    age = _days(as_of, tx.transaction_ts)
    amt = tx.amount.astype(float)
    is_in, is_out = tx.direction == "in", tx.direction == "out"
    ob = tx.transaction_type == "transfer_out_other_bank"
    w = {k: age < k for k in (30, 90, 180)}
    prev = (age >= 90) & (age < 180)
    t = pd.DataFrame({
        "customer_id": tx.customer_id, "age": age, "one": 1,
        "c30": w[30], "c90": w[90], "c180": w[180], "cp90": prev,
        "a30": amt * w[30], "a90": amt * w[90], "a180": amt * w[180], "a365": amt, "ap90": amt * prev,
        "in30": amt * (w[30] & is_in), "in90": amt * (w[90] & is_in), "in365": amt * is_in,
        "out30": amt * (w[30] & is_out), "out90": amt * (w[90] & is_out), "out365": amt * is_out,
        "ob90": amt * (w[90] & ob), "ob365": amt * ob, "obp90": amt * (prev & ob),
        "salary90": w[90] & (tx.transaction_type == "salary"),
        "dig90": w[90] & tx.channel.isin(["mobile", "online"]), "br90": w[90] & (tx.channel == "branch"),
        "atm90": w[90] & tx.channel.isin(["atm", "pos"]),
        "red90": amt * (w[90] & (tx.transaction_type == "investment_redemption")),
        "ch": tx.channel.where(w[90]),
    })
    g = t.groupby("customer_id")
    s = g.sum(numeric_only=True)
    s["recency"] = g.age.min()
    s["ch90"] = g.ch.nunique()
    s = s.reindex(out.index)
    has_tx = len(frames["transactions"]) > 0

    def filled(col):
        return s[col].fillna(0) if has_tx else np.nan

    out["days_since_last_transaction"] = s.recency.fillna(365) if has_tx else np.nan
    for k in (30, 90, 180):
        out[f"transaction_count_{k}d"] = filled(f"c{k}")
    out["transaction_count_365d"] = filled("one")
    out["transaction_count_trend_3m"] = (s.c90 - s.cp90) / s.cp90.replace(0, np.nan)
    for k in (30, 90, 180, 365):
        out[f"transaction_amount_{k}d"] = filled(f"a{k}")
    out["transaction_amount_trend_3m"] = (s.a90 - s.ap90) / s.ap90.replace(0, np.nan)

    mtx = frames["transactions"]
    mtx = mtx[mtx.transaction_ts < d + pd.Timedelta(days=1)]
    month = mtx.transaction_ts.dt.to_period("M").dt.to_timestamp("M")
    keep = (month <= d) & (month > d - pd.Timedelta(days=365))
    net = (mtx.amount.astype(float) * np.where(mtx.direction == "in", 1, -1))[keep]
    monthly = pd.DataFrame({"customer_id": mtx.customer_id[keep], "m": month[keep], "net": net}).groupby(
        ["customer_id", "m"]).net.agg(["size", "sum"])
    mg = monthly.groupby(level="customer_id")
    out["active_months_12m"] = (mg["size"].apply(lambda x: (x > 0).sum()).reindex(out.index, fill_value=0)
                                if has_tx else np.nan)
    out["inflow_amount_30d"], out["inflow_amount_90d"] = filled("in30"), filled("in90")
    out["outflow_amount_30d"], out["outflow_amount_90d"] = filled("out30"), filled("out90")
    out["net_flow_30d"] = filled("in30") - filled("out30")
    out["net_flow_90d"] = filled("in90") - filled("out90")
    out["net_flow_365d"] = filled("in365") - filled("out365")
    out["net_flow_monthly_stddev_12m"] = mg["sum"].std().reindex(out.index)
    out["other_bank_outflow_share_90d"] = s.ob90 / s.out90.replace(0, np.nan)
    out["other_bank_outflow_share_365d"] = s.ob365 / s.out365.replace(0, np.nan)
    out["other_bank_outflow_trend_3m"] = (s.ob90 - s.obp90) / s.obp90.replace(0, np.nan)
    out["salary_credit_count_90d"] = filled("salary90")
    out["investment_redemption_amount_90d"] = filled("red90")
    out["digital_channel_share_90d"] = s.dig90 / s.c90.replace(0, np.nan)
    out["branch_channel_share_90d"] = s.br90 / s.c90.replace(0, np.nan)
    out["atm_pos_channel_share_90d"] = s.atm90 / s.c90.replace(0, np.nan)
    out["channels_used_90d"] = filled("ch90")

    da = frames["digital_activity"]
    da = da[(pd.to_datetime(da.activity_date) <= d) & (pd.to_datetime(da.activity_date) > d - pd.Timedelta(days=365))]
    age = _days(as_of, da.activity_date)
    logins = da.mobile_logins + da.online_logins
    lg = pd.DataFrame({"customer_id": da.customer_id, "age": age, "l30": logins * (age < 30),
                       "l90": logins * (age < 90), "lp90": logins * ((age >= 90) & (age < 180)), "l365": logins,
                       "d30": (age < 30) & (logins > 0), "d90": (age < 90) & (logins > 0)}).groupby("customer_id")
    ls = lg.sum()
    ls["recency"] = lg.age.min()
    ls = ls.reindex(out.index)
    has_da = len(frames["digital_activity"]) > 0
    out["days_since_last_login"] = ls.recency.fillna(365) if has_da else np.nan
    for src, dst in (("l30", "logins_30d"), ("l90", "logins_90d"), ("l365", "logins_365d"),
                     ("d30", "login_days_30d"), ("d90", "login_days_90d")):
        out[dst] = ls[src].fillna(0) if has_da else np.nan
    out["login_trend_3m"] = (ls.l90 - ls.lp90) / ls.lp90.replace(0, np.nan)
    has_pr = len(frames["products"]) > 0
    for c in ("products_closed_90d", "products_closed_365d", "products_opened_90d", "products_maturing_next_30d",
              "products_maturing_next_90d"):
        out[c] = prod[c] if has_pr else np.nan
    out["days_to_next_maturity"] = next_maturity

    bal = frames["balance_snapshots"]
    me = pd.to_datetime(bal.month_end)
    bal = bal[(me <= d) & (me > d - pd.Timedelta(days=365))].copy()
    bal["month_end"] = pd.to_datetime(bal.month_end)
    bal = bal.sort_values(["customer_id", "month_end"])
    for c in ("aum_month_avg", "time_deposit_balance", "wealth_management_balance", "fund_balance", "loan_balance"):
        bal[c] = bal[c].astype(float)
    age = (d - bal.month_end).dt.days
    bal["a3"] = bal.aum_month_avg.where(age < 90)
    bal["ap3"] = bal.aum_month_avg.where((age >= 90) & (age < 181))
    bal["inv"] = bal.time_deposit_balance + bal.wealth_management_balance + bal.fund_balance
    g = bal.groupby("customer_id")
    b = pd.DataFrame({"n": g.size(), "latest": g.aum_month_avg.last(), "earliest": g.aum_month_avg.first(),
                      "avg3": g.a3.mean(), "avgp3": g.ap3.mean(), "avg12": g.aum_month_avg.mean(),
                      "sd12": g.aum_month_avg.std(), "inv": g.inv.last(), "loan": g.loan_balance.last()}
                     ).reindex(out.index)
    out["aum_latest"], out["aum_avg_3m"], out["aum_avg_12m"] = b.latest, b.avg3, b.avg12
    out["aum_change_3m"] = (b.avg3 - b.avgp3) / b.avgp3.replace(0, np.nan)
    out["aum_change_12m"] = ((b.latest - b.earliest) / b.earliest.replace(0, np.nan)).where(b.n >= 2)
    out["aum_volatility_12m"] = b.sd12 / b.avg12.replace(0, np.nan)
    out["investment_share_latest"] = b.inv / b.latest.replace(0, np.nan)
    out["loan_balance_latest"] = b.loan

    si = frames["service_interactions"]
    si = si[si.interaction_ts < d + pd.Timedelta(days=1)]
    sv = si[(si.kind == "survey") & si.satisfaction_score.notna()].sort_values(
        ["customer_id", "interaction_ts", "interaction_id"], ascending=[True, False, False])
    sv = sv.assign(rn=sv.groupby("customer_id").cumcount() + 1, age=_days(as_of, sv.interaction_ts))
    g = sv.groupby("customer_id")
    latest = sv[sv.rn == 1].set_index("customer_id").satisfaction_score
    second = sv[sv.rn == 2].set_index("customer_id").satisfaction_score
    has_sv = (frames["service_interactions"].kind == "survey").any()
    out["satisfaction_score_latest"] = latest.reindex(out.index)
    out["satisfaction_score_change"] = (latest - second).reindex(out.index)
    out["satisfaction_score_avg_365d"] = sv[sv.age < 365].groupby("customer_id").satisfaction_score.mean().reindex(out.index)
    out["days_since_last_survey"] = g.age.min().reindex(out.index)
    out["survey_count_365d"] = (sv[sv.age < 365].groupby("customer_id").size().reindex(out.index, fill_value=0)
                                if has_sv else np.nan)
    out["low_satisfaction_count_365d"] = (
        sv[(sv.age < 365) & (sv.satisfaction_score <= 4)].groupby("customer_id").size().reindex(out.index, fill_value=0)
        if has_sv else np.nan)

    cp = si[si.kind.isin(["complaint", "inquiry"])].copy()
    cp["age"] = _days(as_of, cp.interaction_ts)
    k = cp.kind == "complaint"
    resolved = cp.resolved_ts.notna() & (cp.resolved_ts < d + pd.Timedelta(days=1))
    cat = cp.complaint_category.fillna("other")
    res_days = (cp.resolved_ts - cp.interaction_ts).dt.total_seconds() / 86400.0
    c = pd.DataFrame({
        "customer_id": cp.customer_id, "c30": k & (cp.age < 30), "c90": k & (cp.age < 90),
        "c180": k & (cp.age < 180), "c365": k & (cp.age < 365), "cp90": k & (cp.age >= 90) & (cp.age < 180),
        "unres": k & ~resolved, "res": res_days.where(k & (cp.age < 365) & resolved),
        "sev90": cp.severity.where(k & (cp.age < 90)), "sev365": cp.severity.where(k & (cp.age < 365)),
        "cat180": cat.where(k & (cp.age < 180)), "since": cp.age.where(k), "inq90": (cp.kind == "inquiry") & (cp.age < 90),
    })
    g = c.groupby("customer_id")
    cs = pd.DataFrame({
        "c30": g.c30.sum(), "c90": g.c90.sum(), "c180": g.c180.sum(), "c365": g.c365.sum(), "cp90": g.cp90.sum(),
        "unres": g.unres.sum(), "res": g.res.mean(), "sev90": g.sev90.max(), "sev365": g.sev365.max(),
        "rep": g.c180.sum() - g.cat180.nunique(), "since": g.since.min(), "inq90": g.inq90.sum(),
    }).reindex(out.index)
    has_cp = frames["service_interactions"].kind.isin(["complaint", "inquiry"]).any()

    def cfill(col):
        return cs[col].fillna(0) if has_cp else np.nan

    for kk in (30, 90, 180, 365):
        out[f"complaint_count_{kk}d"] = cfill(f"c{kk}")
    out["complaint_count_trend_3m"] = cfill("c90") - cfill("cp90")
    out["complaints_unresolved"] = cfill("unres")
    out["complaint_resolution_days_avg_365d"] = cs.res
    out["complaint_severity_max_90d"] = cfill("sev90")
    out["complaint_severity_max_365d"] = cfill("sev365")
    out["repeat_complaint_count_180d"] = cfill("rep")
    out["days_since_last_complaint"] = cs.since
    out["inquiry_count_90d"] = cfill("inq90")

    mk = frames["market_environment"].copy()
    mk["month_end"] = pd.to_datetime(mk.month_end)
    mk = mk[(mk.month_end <= d) & (mk.month_end > d - pd.Timedelta(days=456))].sort_values(["city", "month_end"])
    age = (d - mk.month_end).dt.days
    g = mk.groupby("city")
    m = pd.DataFrame({
        "competitor_rate_spread": g.competitor_rate_spread.last(),
        "competitor_rate_spread_avg_3m": mk[age < 90].groupby("city").competitor_rate_spread.mean(),
        "benchmark_deposit_rate": g.benchmark_deposit_rate.last(),
        "benchmark_rate_change_90d": g.benchmark_deposit_rate.last() - mk[age >= 90].groupby("city").benchmark_deposit_rate.last(),
        "benchmark_rate_change_365d": g.benchmark_deposit_rate.last() - mk[age >= 365].groupby("city").benchmark_deposit_rate.last(),
        "regional_competition_index": g.regional_competition_index.last(),
        "equity_index_return_3m": mk[age < 90].groupby("city").equity_index_return.sum(),
    })
    market = m.reindex(pop.city.to_numpy())
    market.index = out.index
    for col in m.columns:
        out[col] = market[col]
    return out.reset_index()
