{{ config(materialized='ephemeral') }}
-- Family basic_information (plan 2.2(1)): who the customer is at as_of_date.
-- customers is the bank's current view (no history): gender, occupation, city, city tier,
-- segment, credit score and income are taken as they are now; age and tenures are computed at
-- as_of_date. Credit score and income are optional in the contract: NULL where a bank lacks them.
with population as (
    select
        population.customer_id,
        population.as_of_date,
        customers.birth_date,
        customers.gender,
        customers.occupation,
        customers.education,
        customers.city,
        customers.city_tier,
        customers.segment,
        customers.onboarding_date,
        customers.relationship_manager_id,
        customers.credit_score,
        customers.annual_income
    from {{ ref('int_customer_dates') }} as population
    inner join {{ ref('stg_customers') }} as customers
        on population.customer_id = customers.customer_id
),

rm as (
    select
        population.customer_id,
        population.as_of_date,
        max(rm.assigned_date) as last_assigned_date,
        count(
            case when rm.assigned_date > {{ churn_warning.add_days('population.as_of_date', -365) }} then 1 end
        ) as rm_changes_365d
    from population
    inner join {{ ref('stg_rm_assignments') }} as rm
        on
            population.customer_id = rm.customer_id
            and population.as_of_date >= rm.assigned_date
    group by population.customer_id, population.as_of_date
)

{%- set managed -%}
    rm.last_assigned_date is not null or population.relationship_manager_id is not null
{%- endset %}
select
    population.customer_id,
    population.as_of_date,
    floor({{ churn_warning.days_between('population.birth_date', 'population.as_of_date') }} / 365.25)
        as age_years,
    population.gender,
    population.occupation,
    population.education,
    population.city,
    population.city_tier,
    population.segment as bank_segment,
    {{ churn_warning.days_between('population.onboarding_date', 'population.as_of_date') }} as tenure_days,
    -- Looked after by a relationship manager at as_of_date: an assignment on record by then, or
    -- (a bank whose history holds only reassignments) a manager in the customers table's
    -- current view. Most mass customers have none: their manager tenure is NULL, not their
    -- tenure with the bank.
    case when {{ managed }} then 1 else 0 end as has_relationship_manager,
    -- A customer with a manager and no reassignment on record has had that manager since onboarding.
    case
        when {{ managed }}
            then {{ churn_warning.days_between(
                'coalesce(rm.last_assigned_date, population.onboarding_date)', 'population.as_of_date'
            ) }}
    end as rm_tenure_days,
    rm.rm_changes_365d,
    population.credit_score,
    population.annual_income
from population
left join rm
    on
        population.customer_id = rm.customer_id
        and population.as_of_date = rm.as_of_date
