{#- Date arithmetic behind adapter.dispatch (SOURCE_PLAN 3.1(2): one processing layer that can
    move engines). duckdb__ versions are what runs today; default__ versions are the ANSI/Spark/
    Trino spelling a new profile starts from. -#}

{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'churn_warning')(date_expr, days)) }}
{%- endmacro %}

{% macro duckdb__add_days(date_expr, days) -%}
    (cast({{ date_expr }} as date) + cast({{ days }} as integer))
{%- endmacro %}

{% macro default__add_days(date_expr, days) -%}
    date_add(cast({{ date_expr }} as date), {{ days }})
{%- endmacro %}


{#- Whole days from start_date to end_date (end - start). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'churn_warning')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
    date_diff('day', cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    datediff(cast({{ end_date }} as date), cast({{ start_date }} as date))
{%- endmacro %}


{#- Fractional days between two timestamps (resolution times). -#}
{% macro days_between_ts(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('days_between_ts', 'churn_warning')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro duckdb__days_between_ts(start_ts, end_ts) -%}
    (epoch({{ end_ts }}) - epoch({{ start_ts }})) / 86400.0
{%- endmacro %}

{% macro default__days_between_ts(start_ts, end_ts) -%}
    (unix_timestamp({{ end_ts }}) - unix_timestamp({{ start_ts }})) / 86400.0
{%- endmacro %}


{#- Last day of the month of a date. -#}
{% macro month_end(date_expr) -%}
    {{ return(adapter.dispatch('month_end', 'churn_warning')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__month_end(date_expr) -%}
    last_day(cast({{ date_expr }} as date))
{%- endmacro %}

{% macro default__month_end(date_expr) -%}
    last_day(cast({{ date_expr }} as date))
{%- endmacro %}


{#- The value of `value_expr` on the row with the largest `order_expr` (an aggregate). -#}
{% macro value_at_max(value_expr, order_expr) -%}
    {{ return(adapter.dispatch('value_at_max', 'churn_warning')(value_expr, order_expr)) }}
{%- endmacro %}

{% macro duckdb__value_at_max(value_expr, order_expr) -%}
    arg_max({{ value_expr }}, {{ order_expr }})
{%- endmacro %}

{% macro default__value_at_max(value_expr, order_expr) -%}
    max_by({{ value_expr }}, {{ order_expr }})
{%- endmacro %}


{% macro value_at_min(value_expr, order_expr) -%}
    {{ return(adapter.dispatch('value_at_min', 'churn_warning')(value_expr, order_expr)) }}
{%- endmacro %}

{% macro duckdb__value_at_min(value_expr, order_expr) -%}
    arg_min({{ value_expr }}, {{ order_expr }})
{%- endmacro %}

{% macro default__value_at_min(value_expr, order_expr) -%}
    min_by({{ value_expr }}, {{ order_expr }})
{%- endmacro %}
