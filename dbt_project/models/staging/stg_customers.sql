-- PII (name, phone, email) stays in raw: no indicator needs it and the marts are read by BI.
select
    cast(customer_id as varchar) as customer_id,
    cast(gender as varchar) as gender,
    cast(birth_date as date) as birth_date,
    cast(occupation as varchar) as occupation,
    cast(education as varchar) as education,
    cast(city as varchar) as city,
    cast(city_tier as integer) as city_tier,
    cast(onboarding_date as date) as onboarding_date,
    cast(segment as varchar) as segment,
    cast(relationship_manager_id as varchar) as relationship_manager_id,
    cast(branch_id as varchar) as branch_id,
    -- source_optional in the contract: NULL for a bank that does not deliver them
    cast(credit_score as integer) as credit_score,
    cast(annual_income as double) as annual_income
from {{ source('raw', 'customers') }}
