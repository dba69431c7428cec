{{ config(materialized='ephemeral') }}
-- Family market_environment (plan 2.2(5), 11.1), per city: the latest monthly market row with
-- month_end <= as_of_date, and changes against the row about 3 and 12 months earlier.
with windowed as (
    select
        market.city,
        dates.as_of_date,
        market.month_end,
        market.benchmark_deposit_rate,
        market.competitor_rate_spread,
        market.equity_index_return,
        market.regional_competition_index,
        {{ churn_warning.days_between('market.month_end', 'dates.as_of_date') }} as age_days
    from {{ ref('stg_market_environment') }} as market
    inner join {{ ref('int_as_of_dates') }} as dates
        on
            market.month_end <= dates.as_of_date
            and market.month_end > {{ churn_warning.add_days('dates.as_of_date', -456) }}
)

select
    city,
    as_of_date,
    {{ churn_warning.value_at_max('competitor_rate_spread', 'month_end') }} as competitor_rate_spread,
    avg(case when age_days < 90 then competitor_rate_spread end) as competitor_rate_spread_avg_3m,
    {{ churn_warning.value_at_max('benchmark_deposit_rate', 'month_end') }} as benchmark_deposit_rate,
    {{ churn_warning.value_at_max('benchmark_deposit_rate', 'month_end') }}
    - {{ churn_warning.value_at_max(
        'case when age_days >= 90 then benchmark_deposit_rate end',
        'case when age_days >= 90 then month_end end'
    ) }}
        as benchmark_rate_change_90d,
    {{ churn_warning.value_at_max('benchmark_deposit_rate', 'month_end') }}
    - {{ churn_warning.value_at_max(
        'case when age_days >= 365 then benchmark_deposit_rate end',
        'case when age_days >= 365 then month_end end'
    ) }}
        as benchmark_rate_change_365d,
    {{ churn_warning.value_at_max('regional_competition_index', 'month_end') }} as regional_competition_index,
    sum(case when age_days < 90 then equity_index_return end) as equity_index_return_3m
from windowed
group by city, as_of_date
