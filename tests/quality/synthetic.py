"""A small warehouse shaped like the raw contract and the marts, built with SQL.

Lets the quality tests exercise every suite without the simulator and dbt (which have their own
tests); the end-to-end fault tests use the real simulator and ingestion.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

MONTH_ENDS = ["2025-10-31", "2025-11-30", "2025-12-31"]
AS_OF_DATE = "2025-12-31"

RAW_SQL = """
create schema if not exists raw;
create schema if not exists marts;
create or replace table raw.customers as
select 'C' || lpad(i::varchar, 5, '0') as customer_id, 'Name ' || i as name,
       case when i % 2 = 0 then 'F' else 'M' end as gender,
       DATE '1960-01-01' + (i % 15000)::integer as birth_date,
       'salaried' as occupation, 'bachelor' as education,
       'city_' || (i % 5) as city, (i % 4 + 1)::integer as city_tier,
       '+86138' || lpad(i::varchar, 8, '0') as phone, 'c' || i || '@example.com' as email,
       DATE '2015-01-01' + (i % 3000)::integer as onboarding_date,
       case when i % 10 = 0 then 'affluent' else 'mass' end as segment,
       'RM' || (i % 20) as relationship_manager_id, 'B' || (i % 5) as branch_id
from range(1, {n} + 1) t(i);
create or replace table raw.rm_assignments as
select customer_id, relationship_manager_id, branch_id, onboarding_date as assigned_date from raw.customers;
create or replace table raw.products as
select 'P' || substr(customer_id, 2) as product_id, customer_id, 'current_account' as product_type,
       onboarding_date as open_date, NULL::date as close_date, NULL::date as maturity_date
from raw.customers;
create or replace table raw.balance_snapshots as
select c.customer_id, m.month_end::date as month_end,
       (1000 + (hash(c.customer_id) % 5000))::decimal(18,2) as current_balance,
       0::decimal(18,2) as time_deposit_balance, 0::decimal(18,2) as wealth_management_balance,
       0::decimal(18,2) as fund_balance, 0::decimal(18,2) as insurance_balance, 0::decimal(18,2) as loan_balance,
       (1000 + (hash(c.customer_id) % 5000))::decimal(18,2) as aum_month_avg
from raw.customers c, (select unnest({months}) as month_end) m;
create or replace table raw.transactions as
select 'T' || row_number() over () as transaction_id, c.customer_id, 'P' || substr(c.customer_id, 2) as product_id,
       (d.day + interval (hash(c.customer_id) % 36000) second)::timestamp as transaction_ts,
       (10 + (hash(c.customer_id || d.day::varchar) % 2000))::decimal(18,2) as amount,
       'out' as direction, 'payment' as transaction_type, NULL::varchar as counterparty_bank, 'mobile' as channel
from raw.customers c, (select unnest(generate_series(DATE '2025-10-01', DATE '2025-12-31', interval 1 day))::date as day) d
where (hash(c.customer_id) % 1000 + hash(d.day) % 1000) % 7 = 0;
create or replace table raw.service_interactions as
select 'S' || row_number() over () as interaction_id, c.customer_id,
       (m.month_end::date - 3)::timestamp as interaction_ts, 'survey' as kind, NULL::varchar as complaint_category,
       NULL::integer as severity, NULL::timestamp as resolved_ts, (hash(c.customer_id) % 10 + 1)::integer as satisfaction_score
from raw.customers c, (select unnest({months}) as month_end) m where hash(c.customer_id) % 5 = 0;
create or replace table raw.digital_activity as
select c.customer_id, d.day as activity_date, 1::integer as mobile_logins, 0::integer as online_logins
from raw.customers c, (select unnest(generate_series(DATE '2025-10-01', DATE '2025-12-31', interval 1 day))::date as day) d
where (hash(c.customer_id) % 1000 + hash(d.day) % 1000) % 3 = 0;
create or replace table raw.market_environment as
select m.month_end::date as month_end, 'city_' || k as city, 0.015::double as benchmark_deposit_rate,
       0.002::double as competitor_rate_spread, 0.01::double as equity_index_return, 0.5::double as regional_competition_index
from (select unnest({months}) as month_end) m, range(5) t(k);
create or replace table raw.churn_events as
select customer_id, DATE '2025-11-15' as churn_date, 'account_closure' as churn_type from raw.customers where hash(customer_id) % 50 = 0;
create or replace table raw.retention_actions as
select 'A' || customer_id as action_id, customer_id, DATE '2025-11-30' as as_of_date, 'rm_call' as action_type,
       NULL::date as action_date, NULL::varchar as relationship_manager_id, false as control_group, 'pending' as outcome,
       NULL::date as outcome_date
from raw.customers where hash(customer_id) % 40 = 0;
create or replace table marts.customer_indicators as
select b.customer_id, b.month_end as as_of_date, b.aum_month_avg::double as aum_month_avg,
       (hash(b.customer_id) % 30)::integer as txn_count_3m
from raw.balance_snapshots b;
create or replace table marts.scoring_panel as select * from marts.customer_indicators;
create or replace table marts.customer_segments as
select customer_id, as_of_date, 'loyal' as segment_name from marts.customer_indicators;
create or replace table marts.churn_labels as
select i.customer_id, i.as_of_date, e.customer_id is not null and e.churn_date > i.as_of_date as churned_within_horizon,
       case when e.churn_date > i.as_of_date then e.churn_date end as churn_date
from marts.customer_indicators i left join raw.churn_events e on e.customer_id = i.customer_id
where i.as_of_date = DATE '2025-10-31';
create or replace table marts.training_panel as
select i.*, l.churned_within_horizon from marts.customer_indicators i
join marts.churn_labels l using (customer_id, as_of_date);
"""


def build(path: Path, customers: int = 500) -> Path:
    months = "[" + ", ".join(f"DATE '{m}'" for m in MONTH_ENDS) + "]"
    con = duckdb.connect(str(path))
    try:
        con.execute(RAW_SQL.replace("{n}", str(customers)).replace("{months}", months))
    finally:
        con.close()
    return path
