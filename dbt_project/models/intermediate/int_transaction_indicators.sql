{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Family transaction_behaviour (plan 2.2(2)): recency, frequency and amount (RFM) over 30/90/180/
-- 365-day windows, flows, outflows to other banks, channel mix, and the last 3 months against the
-- 3 before. Window w holds the transactions with as_of_date - w < transaction_date <= as_of_date
-- (age_days 0 .. w-1): nothing stamped after as_of_date enters.
with transactions as (
    select
        customer_id,
        transaction_date,
        amount,
        direction,
        transaction_type,
        channel
    from {{ ref('stg_transactions') }}
    where {{ churn_warning.prefilter('transaction_date', 365) }}
),

windowed as (
    select
        transactions.customer_id,
        dates.as_of_date,
        transactions.transaction_date,
        transactions.amount,
        transactions.direction,
        transactions.transaction_type,
        transactions.channel,
        {{ churn_warning.days_between('transactions.transaction_date', 'dates.as_of_date') }} as age_days
    from transactions
    inner join {{ ref('int_as_of_dates') }} as dates
        on
            transactions.transaction_date <= dates.as_of_date
            and transactions.transaction_date > {{ churn_warning.add_days('dates.as_of_date', -365) }}
)

select
    customer_id,
    as_of_date,
    min(age_days) as days_since_last_transaction,
    count(case when age_days < 30 then 1 end) as transaction_count_30d,
    count(case when age_days < 90 then 1 end) as transaction_count_90d,
    count(case when age_days < 180 then 1 end) as transaction_count_180d,
    count(*) as transaction_count_365d,
    count(case when age_days >= 90 and age_days < 180 then 1 end) as transaction_count_prev_90d,
    cast(sum(case when age_days < 30 then amount else 0 end) as double) as transaction_amount_30d,
    cast(sum(case when age_days < 90 then amount else 0 end) as double) as transaction_amount_90d,
    cast(sum(case when age_days < 180 then amount else 0 end) as double) as transaction_amount_180d,
    cast(sum(amount) as double) as transaction_amount_365d,
    cast(sum(case when age_days >= 90 and age_days < 180 then amount else 0 end) as double)
        as transaction_amount_prev_90d,
    cast(sum(case when age_days < 30 and direction = 'in' then amount else 0 end) as double) as inflow_amount_30d,
    cast(sum(case when age_days < 90 and direction = 'in' then amount else 0 end) as double) as inflow_amount_90d,
    cast(sum(case when direction = 'in' then amount else 0 end) as double) as inflow_amount_365d,
    cast(sum(case when age_days < 30 and direction = 'out' then amount else 0 end) as double) as outflow_amount_30d,
    cast(sum(case when age_days < 90 and direction = 'out' then amount else 0 end) as double) as outflow_amount_90d,
    cast(sum(case when direction = 'out' then amount else 0 end) as double) as outflow_amount_365d,
    cast(
        sum(case when age_days < 90 and transaction_type = 'transfer_out_other_bank' then amount else 0 end)
        as double
    ) as other_bank_outflow_amount_90d,
    cast(
        sum(case when transaction_type = 'transfer_out_other_bank' then amount else 0 end)
        as double
    ) as other_bank_outflow_amount_365d,
    cast(sum(case
        when age_days >= 90 and age_days < 180 and transaction_type = 'transfer_out_other_bank' then amount
        else 0
    end) as double) as other_bank_outflow_amount_prev_90d,
    count(case when age_days < 90 and transaction_type = 'salary' then 1 end) as salary_credit_count_90d,
    count(case when age_days < 90 and channel in ('mobile', 'online') then 1 end) as digital_channel_count_90d,
    count(case when age_days < 90 and channel = 'branch' then 1 end) as branch_channel_count_90d,
    count(case when age_days < 90 and channel in ('atm', 'pos') then 1 end) as atm_pos_channel_count_90d,
    count(distinct case when age_days < 90 then channel end) as channels_used_90d,
    cast(
        sum(case when age_days < 90 and transaction_type = 'investment_redemption' then amount else 0 end)
        as double
    ) as investment_redemption_amount_90d
from windowed
group by customer_id, as_of_date
