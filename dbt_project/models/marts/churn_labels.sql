-- Churn labels for every (customer_id, as_of_date) of customer_indicators: did the customer
-- churn within label_horizon_days after as_of_date? The definition is configurable (var
-- churn_definitions, OR-ed): account_closure and assets_drained as churn_events records them,
-- assets_drained also by the balance rule (month-average AUM falls by more than
-- churn_drain_drop_pct to below churn_drain_floor, versus the last snapshot at as_of_date) when
-- churn_drain_drop_pct is set, and inactivity (no transaction and no login for
-- churn_inactivity_days). A customer whose horizon runs past data_end_date is unlabeled (NULL),
-- not negative. Rebuilt in full each run: labels of past dates mature as data arrives.
{%- set horizon = var('label_horizon_days', 90) | int %}
{%- set definitions = var('churn_definitions', ['account_closure', 'assets_drained']) %}
{%- if definitions is string %}{% set definitions = definitions.split(',') | map('trim') | list %}{% endif %}
{%- for d in definitions %}
    {%- if d not in ('account_closure', 'assets_drained', 'inactivity') %}
        {{ exceptions.raise_compiler_error("dbt var 'churn_definitions' accepts account_closure, assets_drained, inactivity; got '" ~ d ~ "'") }}
    {%- endif %}
{%- endfor %}
{%- set drop_pct = var('churn_drain_drop_pct', none) %}
{%- set inactivity_days = var('churn_inactivity_days', 180) | int %}
{%- set data_end = churn_warning.date_var('data_end_date') %}
{%- set recorded_types = definitions | select('in', ['account_closure', 'assets_drained']) | list %}

with panel as (
    select
        customer_id,
        as_of_date,
        aum_latest
    from {{ ref('customer_indicators') }}
),

data_end as (
    {% if data_end is not none -%}
        select {{ churn_warning.date_literal(data_end) }} as data_end_date
    {%- else -%}
        select max(month_end) as data_end_date from {{ ref('stg_balance_snapshots') }}
    {%- endif %}
),

churn_candidates as (
    {% if recorded_types -%}
        select
            panel.customer_id,
            panel.as_of_date,
            churn.churn_date,
            churn.churn_type as churn_reason
        from panel
        inner join {{ ref('stg_churn_events') }} as churn
            on
                panel.customer_id = churn.customer_id
                and panel.as_of_date < churn.churn_date
                and churn.churn_date <= {{ churn_warning.add_days('panel.as_of_date', horizon) }}
        where churn.churn_type in (
                {% for churn_type in recorded_types -%}
                    '{{ churn_type }}'{{ ', ' if not loop.last }}
                {%- endfor %}
            )
    {%- else -%}
        select
            cast(null as varchar) as customer_id,
            cast(null as date) as as_of_date,
            cast(null as date) as churn_date,
            cast(null as varchar) as churn_reason
        where 1 = 0
    {%- endif %}
    {% if 'assets_drained' in definitions and drop_pct is not none %}
        union all
        select
            panel.customer_id,
            panel.as_of_date,
            snapshots.month_end as churn_date,
            'assets_drained' as churn_reason
        from panel
        inner join {{ ref('stg_balance_snapshots') }} as snapshots
            on
                panel.customer_id = snapshots.customer_id
                and snapshots.month_end > panel.as_of_date
                and snapshots.month_end <= {{ churn_warning.add_days('panel.as_of_date', horizon) }}
        where
            panel.aum_latest > 0
            and snapshots.aum_month_avg < {{ var('churn_drain_floor', 1000) }}
            and snapshots.aum_month_avg < (1 - {{ drop_pct }}) * panel.aum_latest
    {% endif %}
    {% if 'inactivity' in definitions %}
        union all
        select
            activity.customer_id,
            activity.as_of_date,
            {{ churn_warning.add_days('activity.last_activity_date', inactivity_days) }} as churn_date,
            'inactivity' as churn_reason
        from (
            select
                panel.customer_id,
                panel.as_of_date,
                max(events.activity_date) as last_activity_date
            from panel
            inner join (
                select customer_id, transaction_date as activity_date from {{ ref('stg_transactions') }}
                union all
                select customer_id, activity_date from {{ ref('stg_digital_activity') }}
            ) as events
                on
                    panel.customer_id = events.customer_id
                    and events.activity_date > {{ churn_warning.add_days('panel.as_of_date', -inactivity_days) }}
                    and events.activity_date <= {{ churn_warning.add_days('panel.as_of_date', horizon) }}
            group by panel.customer_id, panel.as_of_date
        ) as activity
        where
            {{ churn_warning.add_days('activity.last_activity_date', inactivity_days) }} > activity.as_of_date
            and {{ churn_warning.add_days('activity.last_activity_date', inactivity_days) }}
            <= {{ churn_warning.add_days('activity.as_of_date', horizon) }}
    {% endif %}
),

first_churn as (
    select
        customer_id,
        as_of_date,
        min(churn_date) as churn_date,
        {{ churn_warning.value_at_min('churn_reason', 'churn_date') }} as churn_reason
    from churn_candidates
    group by customer_id, as_of_date
)

select
    panel.customer_id,
    panel.as_of_date,
    case
        when {{ churn_warning.add_days('panel.as_of_date', horizon) }} > data_end.data_end_date then null
        else first_churn.churn_date is not null
    end as churned_within_horizon,
    case
        when {{ churn_warning.add_days('panel.as_of_date', horizon) }} <= data_end.data_end_date
            then first_churn.churn_date
    end as churn_date,
    case
        when {{ churn_warning.add_days('panel.as_of_date', horizon) }} <= data_end.data_end_date
            then first_churn.churn_reason
    end as churn_reason,
    {{ horizon }} as label_horizon_days,
    {{ churn_warning.add_days('panel.as_of_date', horizon) }} as horizon_end_date,
    data_end.data_end_date
from panel
cross join data_end
left join first_churn
    on panel.customer_id = first_churn.customer_id and panel.as_of_date = first_churn.as_of_date
