{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Family transaction_behaviour, digital channel (plan 2.2(2) "channel"): mobile and online
-- logins from digital_activity with activity_date <= as_of_date.
with activity as (
    select
        customer_id,
        activity_date,
        mobile_logins + online_logins as logins
    from {{ ref('stg_digital_activity') }}
    where {{ churn_warning.prefilter('activity_date', 365) }}
),

windowed as (
    select
        activity.customer_id,
        dates.as_of_date,
        activity.logins,
        {{ churn_warning.days_between('activity.activity_date', 'dates.as_of_date') }} as age_days
    from activity
    inner join {{ ref('int_as_of_dates') }} as dates
        on
            activity.activity_date <= dates.as_of_date
            and activity.activity_date > {{ churn_warning.add_days('dates.as_of_date', -365) }}
)

select
    customer_id,
    as_of_date,
    min(age_days) as days_since_last_login,
    sum(case when age_days < 30 then logins else 0 end) as logins_30d,
    sum(case when age_days < 90 then logins else 0 end) as logins_90d,
    sum(case when age_days >= 90 and age_days < 180 then logins else 0 end) as logins_prev_90d,
    sum(logins) as logins_365d,
    count(case when age_days < 30 and logins > 0 then 1 end) as login_days_30d,
    count(case when age_days < 90 and logins > 0 then 1 end) as login_days_90d
from windowed
group by customer_id, as_of_date
