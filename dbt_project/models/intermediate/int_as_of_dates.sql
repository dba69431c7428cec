{{ config(materialized='table') }}
-- The as_of_dates this run builds in the incremental marts. The run's date is var as_of_date (the
-- Airflow run passes its logical date; default the latest month_end in the data). With
-- build_dates:
--   missing    (default) the run's date plus every panel month-end not yet in
--              marts.customer_indicators: the first run builds the whole panel, a later run adds
--              only the new month(s) and refreshes its own date
--   panel      the run's date plus every panel month-end, all rebuilt
--   as_of_date only the run's date
-- Panel month-ends are the month_ends of raw.balance_snapshots from panel_start up to the run's
-- date (plan 2.2 "dynamic": a customer-month history to learn from). No date after the run's
-- date is ever built.
{%- set as_of = churn_warning.date_var('as_of_date') %}
{%- set panel_start = churn_warning.date_var('panel_start') %}
{%- set mode = churn_warning.build_dates_mode() %}
{%- set built = none %}
{%- if execute and mode == 'missing' %}
    {%- set built = adapter.get_relation(database=this.database, schema='marts', identifier='customer_indicators') %}
{%- endif %}
{%- set panel_conditions = ['month_ends.month_end <= run_date.as_of_date'] %}
{%- if panel_start is not none %}
    {%- do panel_conditions.append('month_ends.month_end >= ' ~ churn_warning.date_literal(panel_start)) %}
{%- endif %}
{%- if built is not none %}
    {%- do panel_conditions.append('month_ends.month_end not in (select distinct b.as_of_date from ' ~ built ~ ' as b)') %}
{%- endif %}

with month_ends as (
    select distinct month_end
    from {{ ref('stg_balance_snapshots') }}
),

run_date as (
    {% if as_of is not none -%}
        select {{ churn_warning.date_literal(as_of) }} as as_of_date
    {%- else -%}
        select max(month_end) as as_of_date from month_ends
    {%- endif %}
),

panel_dates as (
    select month_ends.month_end as as_of_date
    from month_ends
    cross join run_date
    where {{ panel_conditions | join(' and ') }}
),

all_dates as (
    select as_of_date from run_date
    {% if mode != 'as_of_date' -%}
        union
        select as_of_date from panel_dates
    {%- endif %}
)

select
    all_dates.as_of_date,
    all_dates.as_of_date = run_date.as_of_date as is_run_date
from all_dates
cross join run_date
where all_dates.as_of_date is not null
