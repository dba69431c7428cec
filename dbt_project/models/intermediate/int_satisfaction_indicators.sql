{{ config(materialized='ephemeral') }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Family satisfaction (plan 2.2(3), 10.3): the latest survey score on or before as_of_date, its
-- change from the survey before, the yearly average, and time since the last survey. Surveys
-- are few per customer, so the whole history up to as_of_date is read.
with surveys as (
    select
        surveys.customer_id,
        dates.as_of_date,
        surveys.interaction_ts,
        surveys.satisfaction_score,
        {{ churn_warning.days_between('surveys.interaction_date', 'dates.as_of_date') }} as age_days,
        row_number() over (
            partition by surveys.customer_id, dates.as_of_date
            order by surveys.interaction_ts desc, surveys.interaction_id desc
        ) as recency_rank
    from {{ ref('stg_service_interactions') }} as surveys
    inner join {{ ref('int_as_of_dates') }} as dates
        on surveys.interaction_date <= dates.as_of_date
    where
        surveys.kind = 'survey'
        and surveys.satisfaction_score is not null
        and {{ churn_warning.prefilter('surveys.interaction_date', none) }}
)

select
    customer_id,
    as_of_date,
    max(case when recency_rank = 1 then satisfaction_score end) as satisfaction_score_latest,
    max(case when recency_rank = 1 then satisfaction_score end)
    - max(case when recency_rank = 2 then satisfaction_score end) as satisfaction_score_change,
    avg(case when age_days < 365 then satisfaction_score end) as satisfaction_score_avg_365d,
    min(age_days) as days_since_last_survey,
    count(case when age_days < 365 then 1 end) as survey_count_365d,
    count(case when age_days < 365 and satisfaction_score <= 4 then 1 end) as low_satisfaction_count_365d
from surveys
group by customer_id, as_of_date
