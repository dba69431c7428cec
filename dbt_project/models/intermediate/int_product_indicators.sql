{{ config(materialized='ephemeral') }}
-- Products held at as_of_date (open_date <= as_of_date and not closed on or before it), recent
-- closures and openings, time deposits / wealth-management products maturing in the next 30 and
-- 90 days (the label horizon) and the days to the next such maturity (maturity_date is
-- contractual, known when the product is opened). Families
-- basic_information (holdings) and transaction_behaviour (closures, maturities).
{%- set maturing_held -%}
    products.product_type in ('time_deposit', 'wealth_management')
    and (products.close_date is null or products.close_date > population.as_of_date)
    and products.maturity_date > population.as_of_date
{%- endset %}
select
    population.customer_id,
    population.as_of_date,
    count(
        case
            when products.close_date is null or products.close_date > population.as_of_date
                then products.product_id
        end
    ) as products_held,
    -- the asset side of the relationship (the families AUM counts): credit products, a card or a
    -- loan, say something else about a customer than the accounts and investments held
    count(
        case
            when
                products.product_type in ('current_account', 'time_deposit', 'wealth_management', 'fund', 'insurance')
                and (products.close_date is null or products.close_date > population.as_of_date)
                then products.product_id
        end
    ) as asset_products_held,
    count(distinct case
        when products.close_date is null or products.close_date > population.as_of_date
            then products.product_type
    end) as product_types_held,
    max(case
        when
            products.product_type = 'payroll_service'
            and (products.close_date is null or products.close_date > population.as_of_date)
            then 1
        else 0
    end) as has_payroll_service,
    max(case
        when
            products.product_type = 'credit_card'
            and (products.close_date is null or products.close_date > population.as_of_date)
            then 1
        else 0
    end) as has_credit_card,
    count(case
        when products.close_date > {{ churn_warning.add_days('population.as_of_date', -90) }}
            and products.close_date <= population.as_of_date
            then 1
    end) as products_closed_90d,
    count(case
        when products.close_date > {{ churn_warning.add_days('population.as_of_date', -365) }}
            and products.close_date <= population.as_of_date
            then 1
    end) as products_closed_365d,
    count(case
        when products.open_date > {{ churn_warning.add_days('population.as_of_date', -90) }}
            then 1
    end) as products_opened_90d,
    {%- for days in [30, 90] %}
        count(case
            when {{ maturing_held }}
                and products.maturity_date <= {{ churn_warning.add_days('population.as_of_date', days) }}
                then 1
        end) as products_maturing_next_{{ days }}d,
    {%- endfor %}
    min(case
        when {{ maturing_held }}
            then {{ churn_warning.days_between('population.as_of_date', 'products.maturity_date') }}
    end) as days_to_next_maturity
from {{ ref('int_customer_dates') }} as population
inner join {{ ref('stg_products') }} as products
    on
        population.customer_id = products.customer_id
        and population.as_of_date >= products.open_date
group by population.customer_id, population.as_of_date
