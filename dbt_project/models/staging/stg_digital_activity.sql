select
    cast(customer_id as varchar) as customer_id,
    cast(activity_date as date) as activity_date,
    cast(mobile_logins as integer) as mobile_logins,
    cast(online_logins as integer) as online_logins
from {{ source('raw', 'digital_activity') }}
