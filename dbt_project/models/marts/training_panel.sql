{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook="{{ churn_warning.delete_stale_training_dates() }}"
    )
}}
-- depends_on: {{ ref('int_as_of_dates') }}
-- The customer-month panel models learn from (plan 2.3 "prepare training data from the indicator
-- system"): every month-end indicator row with a label. Unlabeled rows (horizon past the data)
-- are left out, and so is a run's date that is not a month-end (one row per customer-month).
-- Incremental per as_of_date: before the insert, the pre-hook deletes the dates this run builds
-- and every date whose labelled rows in churn_labels no longer match the panel's (labels that
-- matured with new data, late churn events, a changed label definition or horizon, a backfill
-- with an earlier data end), found by comparing a per-date count and row fingerprint. The insert
-- then adds every labelled date the panel lacks, so the result is always what a full rebuild
-- would give, while a new month touches only the dates whose labels moved.

select
    indicators.*,
    labels.churned_within_horizon,
    labels.churn_date,
    labels.churn_reason
from {{ ref('customer_indicators') }} as indicators
inner join {{ ref('churn_labels') }} as labels
    on indicators.customer_id = labels.customer_id and indicators.as_of_date = labels.as_of_date
where
    labels.churned_within_horizon is not null
    and indicators.as_of_date = {{ churn_warning.month_end('indicators.as_of_date') }}
{% if is_incremental() %}
    and indicators.as_of_date not in (select distinct kept.as_of_date from {{ this }} as kept)
{% endif %}
