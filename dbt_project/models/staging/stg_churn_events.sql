select
    cast(customer_id as varchar) as customer_id,
    cast(churn_date as date) as churn_date,
    cast(churn_type as varchar) as churn_type
from {{ source('raw', 'churn_events') }}
