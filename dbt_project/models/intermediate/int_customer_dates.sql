-- The population at each as_of_date: customers onboarded on or before it and not churned on or
-- before it (a churn recorded later is not known yet, so it cannot remove anyone).
select
    customers.customer_id,
    dates.as_of_date,
    customers.city
from {{ ref('stg_customers') }} as customers
cross join {{ ref('int_as_of_dates') }} as dates
where
    customers.onboarding_date <= dates.as_of_date
    and not exists (
        select 1
        from {{ ref('stg_churn_events') }} as churn
        where
            churn.customer_id = customers.customer_id
            and churn.churn_date <= dates.as_of_date
    )
