-- The indicators the models score (plan 2.3 "deploy to monitor continuously"): the run's
-- as_of_date, customers active at that date.
select indicators.*
from {{ ref('customer_indicators') }} as indicators
inner join {{ ref('int_as_of_dates') }} as dates
    on indicators.as_of_date = dates.as_of_date
where dates.is_run_date
