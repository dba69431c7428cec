{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Family complaints_feedback (plan 2.2(4), 10.2): complaints per window, how they were handled
-- as known at as_of_date. A complaint is resolved at as_of_date only if resolved_ts falls on or
-- before that day; later resolutions are unknown then and the complaint counts as unresolved.
with interactions as (
    select
        interactions.customer_id,
        dates.as_of_date,
        interactions.kind,
        interactions.complaint_category,
        interactions.severity,
        interactions.interaction_ts,
        case
            when interactions.resolved_date <= dates.as_of_date then interactions.resolved_ts
        end as resolved_ts_known,
        {{ churn_warning.days_between('interactions.interaction_date', 'dates.as_of_date') }} as age_days
    from {{ ref('stg_service_interactions') }} as interactions
    inner join {{ ref('int_as_of_dates') }} as dates
        on interactions.interaction_date <= dates.as_of_date
    where
        interactions.kind in ('complaint', 'inquiry')
        and {{ churn_warning.prefilter('interactions.interaction_date', none) }}
),

complaints as (
    select
        customer_id,
        as_of_date,
        kind,
        coalesce(complaint_category, 'other') as complaint_category,
        severity,
        interaction_ts,
        resolved_ts_known,
        age_days,
        case when kind = 'complaint' then 1 end as is_complaint
    from interactions
)

select
    customer_id,
    as_of_date,
    count(case when age_days < 30 then is_complaint end) as complaint_count_30d,
    count(case when age_days < 90 then is_complaint end) as complaint_count_90d,
    count(case when age_days < 180 then is_complaint end) as complaint_count_180d,
    count(case when age_days < 365 then is_complaint end) as complaint_count_365d,
    count(case when age_days >= 90 and age_days < 180 then is_complaint end) as complaint_count_prev_90d,
    count(case when resolved_ts_known is null then is_complaint end) as complaints_unresolved,
    avg(case
        when is_complaint = 1 and age_days < 365 and resolved_ts_known is not null
            then {{ churn_warning.days_between_ts('interaction_ts', 'resolved_ts_known') }}
    end) as complaint_resolution_days_avg_365d,
    max(case when is_complaint = 1 and age_days < 90 then severity end) as complaint_severity_max_90d,
    max(case when is_complaint = 1 and age_days < 365 then severity end) as complaint_severity_max_365d,
    count(case when age_days < 180 then is_complaint end)
    - count(distinct case when is_complaint = 1 and age_days < 180 then complaint_category end)
        as repeat_complaint_count_180d,
    min(case when is_complaint = 1 then age_days end) as days_since_last_complaint,
    count(case when kind = 'inquiry' and age_days < 90 then 1 end) as inquiry_count_90d
from complaints
group by customer_id, as_of_date
