select
    cast(customer_id as varchar) as customer_id,
    cast(relationship_manager_id as varchar) as relationship_manager_id,
    cast(branch_id as varchar) as branch_id,
    cast(assigned_date as date) as assigned_date
from {{ source('raw', 'rm_assignments') }}
