{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Per customer and calendar month: counts and amounts. Shared by the transaction indicators
-- (monthly volatility, active months) and available to analysts. A month belongs to an
-- as_of_date only when month_end <= as_of_date (complete months, point in time). Amounts stay
-- DECIMAL here (exact); consumers cast what they publish.
select
    customer_id,
    {{ churn_warning.month_end('transaction_date') }} as month_end,
    count(*) as transaction_count,
    sum(amount) as transaction_amount,
    sum(case when direction = 'in' then amount else 0 end) as inflow_amount,
    sum(case when direction = 'out' then amount else 0 end) as outflow_amount,
    sum(case when direction = 'in' then amount else -amount end) as net_flow_amount,
    max(transaction_date) as last_transaction_date
from {{ ref('stg_transactions') }}
-- complete months of the last year of any build date (the prefilter only prunes the scan)
where {{ churn_warning.prefilter('transaction_date', 400) }}
group by customer_id, {{ churn_warning.month_end('transaction_date') }}
