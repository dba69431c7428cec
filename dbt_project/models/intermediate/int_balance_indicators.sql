{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Family transaction_behaviour, assets (plan 2.2(2)): month-average AUM level, change and
-- volatility from the month-end snapshots with month_end <= as_of_date. Windows in days select
-- month-ends: (as_of_date - 90, as_of_date] holds the last 3 month-ends, (- 181, - 90] the 3
-- before, (- 365, as_of_date] the last 12.
with snapshots as (
    select
        customer_id,
        month_end,
        aum_month_avg,
        time_deposit_balance,
        wealth_management_balance,
        fund_balance,
        loan_balance
    from {{ ref('stg_balance_snapshots') }}
    where {{ churn_warning.prefilter('month_end', 365) }}
),

windowed as (
    select
        snapshots.*,
        dates.as_of_date,
        {{ churn_warning.days_between('snapshots.month_end', 'dates.as_of_date') }} as age_days
    from snapshots
    inner join {{ ref('int_as_of_dates') }} as dates
        on
            snapshots.month_end <= dates.as_of_date
            and snapshots.month_end > {{ churn_warning.add_days('dates.as_of_date', -365) }}
)

select
    customer_id,
    as_of_date,
    max(month_end) as last_snapshot_month_end,
    cast({{ churn_warning.value_at_max('aum_month_avg', 'month_end') }} as double) as aum_latest,
    cast({{ churn_warning.value_at_min('aum_month_avg', 'month_end') }} as double) as aum_earliest_12m,
    avg(case when age_days < 90 then aum_month_avg end) as aum_avg_3m,
    avg(case when age_days >= 90 and age_days < 181 then aum_month_avg end) as aum_avg_prev_3m,
    avg(aum_month_avg) as aum_avg_12m,
    stddev_samp(aum_month_avg) as aum_stddev_12m,
    count(*) as snapshot_count_12m,
    cast(
        {{ churn_warning.value_at_max('time_deposit_balance + wealth_management_balance + fund_balance', 'month_end') }}
        as double
    ) as investment_balance_latest,
    cast({{ churn_warning.value_at_max('loan_balance', 'month_end') }} as double) as loan_balance_latest
from windowed
group by customer_id, as_of_date
