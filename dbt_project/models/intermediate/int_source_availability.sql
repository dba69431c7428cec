{{ config(materialized='table') }}
-- Which raw tables hold any row. A bank export may carry no transactions, interactions or logins
-- (the Churn_Modelling mapping has one snapshot and no events): the indicators built on a missing
-- table are then NULL ("not measured"), never 0 ("measured: none"). One row.
select
    exists(select 1 from {{ ref('stg_transactions') }}) as has_transactions,
    exists(select 1 from {{ ref('stg_balance_snapshots') }}) as has_balance_snapshots,
    exists(select 1 from {{ ref('stg_products') }}) as has_products,
    exists(select 1 from {{ ref('stg_rm_assignments') }}) as has_rm_assignments,
    exists(select 1 from {{ ref('stg_digital_activity') }}) as has_digital_activity,
    exists(
        select 1 from {{ ref('stg_service_interactions') }}
        where kind = 'survey'
    ) as has_surveys,
    exists(
        select 1 from {{ ref('stg_service_interactions') }}
        where kind in ('complaint', 'inquiry')
    ) as has_complaints,
    exists(select 1 from {{ ref('stg_market_environment') }}) as has_market_environment
