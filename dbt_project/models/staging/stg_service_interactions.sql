select
    cast(interaction_id as varchar) as interaction_id,
    cast(customer_id as varchar) as customer_id,
    cast(interaction_ts as timestamp) as interaction_ts,
    cast(interaction_ts as date) as interaction_date,
    cast(kind as varchar) as kind,
    cast(complaint_category as varchar) as complaint_category,
    cast(severity as integer) as severity,
    cast(resolved_ts as timestamp) as resolved_ts,
    cast(resolved_ts as date) as resolved_date,
    cast(satisfaction_score as integer) as satisfaction_score
from {{ source('raw', 'service_interactions') }}
