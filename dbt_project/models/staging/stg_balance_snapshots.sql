select
    cast(customer_id as varchar) as customer_id,
    cast(month_end as date) as month_end,
    cast(current_balance as decimal(18, 2)) as current_balance,
    cast(time_deposit_balance as decimal(18, 2)) as time_deposit_balance,
    cast(wealth_management_balance as decimal(18, 2)) as wealth_management_balance,
    cast(fund_balance as decimal(18, 2)) as fund_balance,
    cast(insurance_balance as decimal(18, 2)) as insurance_balance,
    cast(loan_balance as decimal(18, 2)) as loan_balance,
    cast(aum_month_avg as decimal(18, 2)) as aum_month_avg
from {{ source('raw', 'balance_snapshots') }}
