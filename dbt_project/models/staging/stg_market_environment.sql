select
    cast(month_end as date) as month_end,
    cast(city as varchar) as city,
    cast(benchmark_deposit_rate as double) as benchmark_deposit_rate,
    cast(competitor_rate_spread as double) as competitor_rate_spread,
    cast(equity_index_return as double) as equity_index_return,
    cast(regional_competition_index as double) as regional_competition_index
from {{ source('raw', 'market_environment') }}
