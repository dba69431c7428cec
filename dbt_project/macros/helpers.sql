{#- Portable helpers (no dispatch needed: the same SQL works on DuckDB, Spark and Trino). -#}

{#- numerator / denominator as a double, NULL when the denominator is 0 or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- Relative change (new - old) / old, NULL when old is 0 or NULL. -#}
{% macro relative_change(new_value, old_value) -%}
    ((cast({{ new_value }} as double) - cast({{ old_value }} as double)) / nullif(cast({{ old_value }} as double), 0))
{%- endmacro %}

{#- A date var, checked: a clear error names the var and the bad value (bad input never turns
    into silently wrong as_of_dates). Returns the string 'YYYY-MM-DD' or none. -#}
{% macro date_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value | string | trim) in ('', 'none', 'None', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("dbt var '" ~ name ~ "' must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
    {{ return(text) }}
{%- endmacro %}

{% macro date_literal(text) -%}
    date '{{ text }}'
{%- endmacro %}

{#- build_dates var, checked. -#}
{% macro build_dates_mode() -%}
    {%- set mode = var('build_dates', 'missing') | string | trim -%}
    {%- if mode not in ('missing', 'panel', 'as_of_date') -%}
        {{ exceptions.raise_compiler_error("dbt var 'build_dates' must be 'missing', 'panel' or 'as_of_date', got '" ~ mode ~ "'") }}
    {%- endif -%}
    {{ return(mode) }}
{%- endmacro %}

{#- A constant-bounds predicate on an event date column, so the engine can skip row groups (zone
    maps) before the exact as_of_date-relative join runs: date_column in
    (min build date - lookback_days, max build date + lookahead_days], the build dates read from
    int_as_of_dates at execution time. It never changes results: the joins carry the exact
    point-in-time conditions. Used only in ephemeral models, which are compiled into the mart
    that runs them, so the bounds always come from the same int_as_of_dates the mart joins
    (a view would keep the bounds of the run that created it). `1 = 1` at parse time or before
    int_as_of_dates exists. -#}
{% macro prefilter(date_column, lookback_days, lookahead_days=0) -%}
    {%- set bounds = none -%}
    {%- if execute -%}
        {%- set dates_relation = load_relation(ref('int_as_of_dates')) -%}
        {%- if dates_relation is not none -%}
            {%- set result = run_query('select cast(min(as_of_date) as varchar), cast(max(as_of_date) as varchar) from ' ~ dates_relation) -%}
            {%- if result.rows | length > 0 and result.rows[0][0] is not none -%}
                {%- set bounds = result.rows[0] -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- if bounds is none -%}
        1 = 1
    {%- else -%}
        {%- set hi = modules.datetime.datetime.strptime(bounds[1][:10], '%Y-%m-%d') + modules.datetime.timedelta(days=lookahead_days) -%}
        {{ date_column }} <= date '{{ hi.strftime('%Y-%m-%d') }}'
        {%- if lookback_days is not none -%}
            {%- set lo = modules.datetime.datetime.strptime(bounds[0][:10], '%Y-%m-%d') - modules.datetime.timedelta(days=lookback_days) %}
            and {{ date_column }} > date '{{ lo.strftime('%Y-%m-%d') }}'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Incremental marts keyed by as_of_date: before inserting, delete every as_of_date this run
    builds, so a rebuilt date is replaced exactly (also when a date now has fewer rows). Dates
    that are not month-ends are earlier runs' dates: the marts keep the panel month-ends plus
    the run's date only (var keep_run_dates: true keeps them all). -#}
{% macro delete_build_dates() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
            {% if not var('keep_run_dates', false) -%}
            or as_of_date <> {{ churn_warning.month_end('as_of_date') }}
            {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- training_panel's pre-hook: delete the dates this run builds, and every date whose labelled
    rows in churn_labels differ from the panel's (count or row fingerprint of customer, label,
    churn date and reason), so the model's insert of the missing labelled dates leaves exactly
    what a full rebuild would. -#}
{% macro delete_stale_training_dates() -%}
    {%- if is_incremental() -%}
        {%- set label_columns = ['customer_id', 'churned_within_horizon', 'churn_date', 'churn_reason'] -%}
        delete from {{ this }}
        where
            as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
            or as_of_date in (
                select coalesce(kept.as_of_date, labelled.as_of_date)
                from (
                    select
                        as_of_date,
                        count(*) as n_rows,
                        {{ churn_warning.row_fingerprint(label_columns) }} as fingerprint
                    from {{ this }}
                    group by as_of_date
                ) as kept
                full outer join (
                    select
                        as_of_date,
                        count(*) as n_rows,
                        {{ churn_warning.row_fingerprint(label_columns) }} as fingerprint
                    from {{ ref('churn_labels') }}
                    where
                        churned_within_horizon is not null
                        and as_of_date = {{ churn_warning.month_end('as_of_date') }}
                    group by as_of_date
                ) as labelled
                    on kept.as_of_date = labelled.as_of_date
                where
                    kept.n_rows is distinct from labelled.n_rows
                    or kept.fingerprint is distinct from labelled.fingerprint
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
