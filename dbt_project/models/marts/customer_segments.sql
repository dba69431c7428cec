{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook="{{ churn_warning.delete_build_dates() }}"
    )
}}
-- Value and loyalty segments (plan 2.3(4), 6.1), per customer_id and as_of_date, from the
-- indicators: RFM scores are quintiles within the as_of_date (5 = best: most recent, most
-- frequent, most assets). Loyalty rules are checked in order; the first that matches wins:
--   new      tenure under segment_new_customer_days
--   dormant  no transaction and no login in 90 days (when those tables hold data)
--   at_risk  AUM down more than 30% (3 vs 3 months), transactions down more than 50%, an
--            unresolved complaint, or a latest survey score of 4 or less
--   growing  AUM up more than 10% or transactions up more than 20% (3 vs 3 months)
--   loyal    tenure of 3 years or more with recency and frequency scores of 3 or more (or, with
--            no transaction data, at least 2 products)
--   stable   the rest
-- Clustering in ml/ may refine these; the rules keep the segments explainable to RMs.
with indicators as (
    select indicators.*
    from {{ ref('customer_indicators') }} as indicators
    inner join {{ ref('int_as_of_dates') }} as dates
        on indicators.as_of_date = dates.as_of_date
),

scored as (
    select
        customer_id,
        as_of_date,
        tenure_days,
        days_since_last_transaction,
        transaction_count_90d,
        transaction_count_365d,
        transaction_count_trend_3m,
        logins_90d,
        aum_avg_3m,
        aum_change_3m,
        complaints_unresolved,
        satisfaction_score_latest,
        products_held,
        case
            when days_since_last_transaction is not null
                then ntile(5) over (
                        partition by as_of_date order by days_since_last_transaction desc, customer_id asc
                    )
        end as recency_score,
        case
            when transaction_count_365d is not null
                then ntile(5) over (partition by as_of_date order by transaction_count_365d, customer_id)
        end as frequency_score,
        case
            when aum_avg_3m is not null
                then ntile(5) over (partition by as_of_date order by aum_avg_3m, customer_id)
        end as monetary_score
    from indicators
)

select
    customer_id,
    as_of_date,
    recency_score,
    frequency_score,
    monetary_score,
    coalesce(recency_score, 0) + coalesce(frequency_score, 0) + coalesce(monetary_score, 0) as rfm_score,
    case
        when monetary_score >= 5 then 'high_value'
        when monetary_score >= 3 then 'medium_value'
        when monetary_score is not null then 'low_value'
        else 'unknown'
    end as value_segment,
    case
        when tenure_days < {{ var('segment_new_customer_days', 180) }} then 'new'
        when
            transaction_count_90d = 0 and coalesce(logins_90d, 0) = 0
            then 'dormant'
        when
            aum_change_3m < -0.3
            or transaction_count_trend_3m < -0.5
            or complaints_unresolved > 0
            or satisfaction_score_latest <= 4
            then 'at_risk'
        when aum_change_3m > 0.1 or transaction_count_trend_3m > 0.2 then 'growing'
        when
            tenure_days >= 1095
            and (
                (recency_score >= 3 and frequency_score >= 3)
                or (recency_score is null and products_held >= 2)
            )
            then 'loyal'
        else 'stable'
    end as loyalty_segment
from scored
