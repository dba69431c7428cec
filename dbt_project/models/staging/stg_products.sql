select
    cast(product_id as varchar) as product_id,
    cast(customer_id as varchar) as customer_id,
    cast(product_type as varchar) as product_type,
    cast(open_date as date) as open_date,
    cast(close_date as date) as close_date,
    cast(maturity_date as date) as maturity_date
from {{ source('raw', 'products') }}
