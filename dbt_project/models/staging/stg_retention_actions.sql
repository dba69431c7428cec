select
    cast(action_id as varchar) as action_id,
    cast(customer_id as varchar) as customer_id,
    cast(as_of_date as date) as as_of_date,
    cast(action_type as varchar) as action_type,
    cast(action_date as date) as action_date,
    cast(relationship_manager_id as varchar) as relationship_manager_id,
    cast(control_group as boolean) as control_group,
    cast(outcome as varchar) as outcome,
    cast(outcome_date as date) as outcome_date
from {{ source('raw', 'retention_actions') }}
