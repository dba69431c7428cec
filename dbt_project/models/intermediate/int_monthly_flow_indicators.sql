{{ config(materialized='ephemeral') }}
-- Family transaction_behaviour: stability of monthly activity over the complete calendar months
-- of the last 12 (month_end <= as_of_date, so a month still running at as_of_date is left out).
select
    monthly.customer_id,
    dates.as_of_date,
    count(case when monthly.transaction_count > 0 then 1 end) as active_months_12m,
    stddev_samp(cast(monthly.net_flow_amount as double)) as net_flow_monthly_stddev_12m,
    avg(monthly.transaction_count) as transaction_count_monthly_avg_12m
from {{ ref('int_customer_monthly_transactions') }} as monthly
inner join {{ ref('int_as_of_dates') }} as dates
    on
        monthly.month_end <= dates.as_of_date
        and monthly.month_end > {{ churn_warning.add_days('dates.as_of_date', -365) }}
group by monthly.customer_id, dates.as_of_date
