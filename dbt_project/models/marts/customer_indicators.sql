{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook="{{ churn_warning.delete_build_dates() }}"
    )
}}
-- depends_on: {{ ref('int_as_of_dates') }}
-- The warning indicator system (plan 2.2): one row per customer_id and as_of_date for the
-- customers active at that date, in five families. Incremental per as_of_date: a run deletes the
-- dates it builds (int_as_of_dates) and inserts them again, so rebuilding a date replaces it
-- exactly and the other dates of the panel stay as they were. Every column is documented, with
-- its family, bilingual name, formula, unit and risk direction, in customer_indicators.yml
-- (the source of marts.indicator_catalog).
-- Counts over a table with no rows at all are NULL (not measured), never 0: see
-- int_source_availability.

with population as (
    select * from {{ ref('int_customer_dates') }}
),

availability as (
    select * from {{ ref('int_source_availability') }}
)

select
    population.customer_id,
    population.as_of_date,

    -- basic_information
    basic.age_years,
    basic.gender,
    basic.occupation,
    basic.education,
    basic.city,
    basic.city_tier,
    basic.bank_segment,
    basic.tenure_days,
    basic.credit_score,
    basic.annual_income,
    case when availability.has_rm_assignments then basic.has_relationship_manager end as has_relationship_manager,
    case when availability.has_rm_assignments then basic.rm_tenure_days end as rm_tenure_days,
    case when availability.has_rm_assignments then coalesce(basic.rm_changes_365d, 0) end as rm_changes_365d,
    case when availability.has_products then coalesce(products.products_held, 0) end as products_held,
    case when availability.has_products then coalesce(products.asset_products_held, 0) end as asset_products_held,
    case when availability.has_products then coalesce(products.product_types_held, 0) end as product_types_held,
    case when availability.has_products then coalesce(products.has_payroll_service, 0) end as has_payroll_service,
    case when availability.has_products then coalesce(products.has_credit_card, 0) end as has_credit_card,

    -- transaction_behaviour: RFM
    case
        when availability.has_transactions then coalesce(txn.days_since_last_transaction, 365)
    end as days_since_last_transaction,
    case when availability.has_transactions then coalesce(txn.transaction_count_30d, 0) end
        as transaction_count_30d,
    case when availability.has_transactions then coalesce(txn.transaction_count_90d, 0) end
        as transaction_count_90d,
    case when availability.has_transactions then coalesce(txn.transaction_count_180d, 0) end
        as transaction_count_180d,
    case when availability.has_transactions then coalesce(txn.transaction_count_365d, 0) end
        as transaction_count_365d,
    {{ churn_warning.relative_change('txn.transaction_count_90d', 'txn.transaction_count_prev_90d') }}
        as transaction_count_trend_3m,
    case when availability.has_transactions then coalesce(txn.transaction_amount_30d, 0) end
        as transaction_amount_30d,
    case when availability.has_transactions then coalesce(txn.transaction_amount_90d, 0) end
        as transaction_amount_90d,
    case when availability.has_transactions then coalesce(txn.transaction_amount_180d, 0) end
        as transaction_amount_180d,
    case when availability.has_transactions then coalesce(txn.transaction_amount_365d, 0) end
        as transaction_amount_365d,
    {{ churn_warning.relative_change('txn.transaction_amount_90d', 'txn.transaction_amount_prev_90d') }}
        as transaction_amount_trend_3m,
    case when availability.has_transactions then coalesce(monthly.active_months_12m, 0) end as active_months_12m,

    -- transaction_behaviour: flows
    case when availability.has_transactions then coalesce(txn.inflow_amount_30d, 0) end
        as inflow_amount_30d,
    case when availability.has_transactions then coalesce(txn.inflow_amount_90d, 0) end
        as inflow_amount_90d,
    case when availability.has_transactions then coalesce(txn.outflow_amount_30d, 0) end
        as outflow_amount_30d,
    case when availability.has_transactions then coalesce(txn.outflow_amount_90d, 0) end
        as outflow_amount_90d,
    case
        when availability.has_transactions
            then coalesce(txn.inflow_amount_30d, 0) - coalesce(txn.outflow_amount_30d, 0)
    end as net_flow_30d,
    case
        when availability.has_transactions
            then coalesce(txn.inflow_amount_90d, 0) - coalesce(txn.outflow_amount_90d, 0)
    end as net_flow_90d,
    case
        when availability.has_transactions
            then coalesce(txn.inflow_amount_365d, 0) - coalesce(txn.outflow_amount_365d, 0)
    end as net_flow_365d,
    monthly.net_flow_monthly_stddev_12m,
    {{ churn_warning.safe_divide('txn.other_bank_outflow_amount_90d', 'txn.outflow_amount_90d') }}
        as other_bank_outflow_share_90d,
    {{ churn_warning.safe_divide('txn.other_bank_outflow_amount_365d', 'txn.outflow_amount_365d') }}
        as other_bank_outflow_share_365d,
    {{ churn_warning.relative_change(
        'txn.other_bank_outflow_amount_90d', 'txn.other_bank_outflow_amount_prev_90d'
    ) }}
        as other_bank_outflow_trend_3m,
    case when availability.has_transactions then coalesce(txn.salary_credit_count_90d, 0) end
        as salary_credit_count_90d,
    case when availability.has_transactions then coalesce(txn.investment_redemption_amount_90d, 0) end
        as investment_redemption_amount_90d,

    -- transaction_behaviour: channels and digital logins
    {{ churn_warning.safe_divide('txn.digital_channel_count_90d', 'txn.transaction_count_90d') }}
        as digital_channel_share_90d,
    {{ churn_warning.safe_divide('txn.branch_channel_count_90d', 'txn.transaction_count_90d') }}
        as branch_channel_share_90d,
    {{ churn_warning.safe_divide('txn.atm_pos_channel_count_90d', 'txn.transaction_count_90d') }}
        as atm_pos_channel_share_90d,
    case when availability.has_transactions then coalesce(txn.channels_used_90d, 0) end
        as channels_used_90d,
    case when availability.has_digital_activity then coalesce(digital.days_since_last_login, 365) end
        as days_since_last_login,
    case when availability.has_digital_activity then coalesce(digital.logins_30d, 0) end as logins_30d,
    case when availability.has_digital_activity then coalesce(digital.logins_90d, 0) end as logins_90d,
    case when availability.has_digital_activity then coalesce(digital.logins_365d, 0) end as logins_365d,
    case when availability.has_digital_activity then coalesce(digital.login_days_30d, 0) end as login_days_30d,
    case when availability.has_digital_activity then coalesce(digital.login_days_90d, 0) end as login_days_90d,
    {{ churn_warning.relative_change('digital.logins_90d', 'digital.logins_prev_90d') }} as login_trend_3m,

    -- transaction_behaviour: products closed and maturing
    case when availability.has_products then coalesce(products.products_closed_90d, 0) end
        as products_closed_90d,
    case when availability.has_products then coalesce(products.products_closed_365d, 0) end
        as products_closed_365d,
    case when availability.has_products then coalesce(products.products_opened_90d, 0) end
        as products_opened_90d,
    case when availability.has_products then coalesce(products.products_maturing_next_30d, 0) end
        as products_maturing_next_30d,
    case when availability.has_products then coalesce(products.products_maturing_next_90d, 0) end
        as products_maturing_next_90d,
    products.days_to_next_maturity,

    -- transaction_behaviour: assets under management
    balances.aum_latest,
    balances.aum_avg_3m,
    balances.aum_avg_12m,
    {{ churn_warning.relative_change('balances.aum_avg_3m', 'balances.aum_avg_prev_3m') }} as aum_change_3m,
    case
        when balances.snapshot_count_12m >= 2
            then {{ churn_warning.relative_change('balances.aum_latest', 'balances.aum_earliest_12m') }}
    end as aum_change_12m,
    {{ churn_warning.safe_divide('balances.aum_stddev_12m', 'balances.aum_avg_12m') }} as aum_volatility_12m,
    {{ churn_warning.safe_divide('balances.investment_balance_latest', 'balances.aum_latest') }}
        as investment_share_latest,
    balances.loan_balance_latest,

    -- satisfaction
    satisfaction.satisfaction_score_latest,
    satisfaction.satisfaction_score_change,
    satisfaction.satisfaction_score_avg_365d,
    satisfaction.days_since_last_survey,
    case when availability.has_surveys then coalesce(satisfaction.survey_count_365d, 0) end as survey_count_365d,
    case when availability.has_surveys then coalesce(satisfaction.low_satisfaction_count_365d, 0) end
        as low_satisfaction_count_365d,

    -- complaints_feedback
    case when availability.has_complaints then coalesce(complaints.complaint_count_30d, 0) end
        as complaint_count_30d,
    case when availability.has_complaints then coalesce(complaints.complaint_count_90d, 0) end
        as complaint_count_90d,
    case when availability.has_complaints then coalesce(complaints.complaint_count_180d, 0) end
        as complaint_count_180d,
    case when availability.has_complaints then coalesce(complaints.complaint_count_365d, 0) end
        as complaint_count_365d,
    case
        when availability.has_complaints
            then coalesce(complaints.complaint_count_90d, 0) - coalesce(complaints.complaint_count_prev_90d, 0)
    end as complaint_count_trend_3m,
    case when availability.has_complaints then coalesce(complaints.complaints_unresolved, 0) end
        as complaints_unresolved,
    complaints.complaint_resolution_days_avg_365d,
    case when availability.has_complaints then coalesce(complaints.complaint_severity_max_90d, 0) end
        as complaint_severity_max_90d,
    case when availability.has_complaints then coalesce(complaints.complaint_severity_max_365d, 0) end
        as complaint_severity_max_365d,
    case when availability.has_complaints then coalesce(complaints.repeat_complaint_count_180d, 0) end
        as repeat_complaint_count_180d,
    complaints.days_since_last_complaint,
    case when availability.has_complaints then coalesce(complaints.inquiry_count_90d, 0) end
        as inquiry_count_90d,

    -- market_environment
    market.competitor_rate_spread,
    market.competitor_rate_spread_avg_3m,
    market.benchmark_deposit_rate,
    market.benchmark_rate_change_90d,
    market.benchmark_rate_change_365d,
    market.regional_competition_index,
    market.equity_index_return_3m

from population
cross join availability
left join {{ ref('int_basic_information_indicators') }} as basic
    on population.customer_id = basic.customer_id and population.as_of_date = basic.as_of_date
left join {{ ref('int_product_indicators') }} as products
    on population.customer_id = products.customer_id and population.as_of_date = products.as_of_date
left join {{ ref('int_transaction_indicators') }} as txn
    on population.customer_id = txn.customer_id and population.as_of_date = txn.as_of_date
left join {{ ref('int_monthly_flow_indicators') }} as monthly
    on population.customer_id = monthly.customer_id and population.as_of_date = monthly.as_of_date
left join {{ ref('int_digital_indicators') }} as digital
    on population.customer_id = digital.customer_id and population.as_of_date = digital.as_of_date
left join {{ ref('int_balance_indicators') }} as balances
    on population.customer_id = balances.customer_id and population.as_of_date = balances.as_of_date
left join {{ ref('int_satisfaction_indicators') }} as satisfaction
    on population.customer_id = satisfaction.customer_id and population.as_of_date = satisfaction.as_of_date
left join {{ ref('int_complaint_indicators') }} as complaints
    on population.customer_id = complaints.customer_id and population.as_of_date = complaints.as_of_date
left join {{ ref('int_market_indicators') }} as market
    on population.city = market.city and population.as_of_date = market.as_of_date
