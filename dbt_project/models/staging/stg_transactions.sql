-- Amounts stay DECIMAL (exact sums: a rebuilt date reproduces its values to the cent).
-- transaction_date is the calendar day the row is stamped with: a transaction belongs to an
-- as_of_date when transaction_date <= as_of_date (transaction_ts < as_of_date + 1 day).
select
    cast(transaction_id as varchar) as transaction_id,
    cast(customer_id as varchar) as customer_id,
    cast(product_id as varchar) as product_id,
    cast(transaction_ts as timestamp) as transaction_ts,
    cast(transaction_ts as date) as transaction_date,
    cast(amount as decimal(18, 2)) as amount,
    cast(direction as varchar) as direction,
    cast(transaction_type as varchar) as transaction_type,
    cast(counterparty_bank as varchar) as counterparty_bank,
    cast(channel as varchar) as channel
from {{ source('raw', 'transactions') }}
