-- The customer-month panel models learn from (plan 2.3 "prepare training data from the indicator
-- system"): every month-end indicator row with a label. Unlabeled rows (horizon past the data)
-- are left out, and so is a run's date that is not a month-end (one row per customer-month).
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
