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

{#- A constant-bounds predicate on an event date column that lets the engine skip row groups
    before the exact (as_of_date-relative) join runs. Emitted only when the bounds are known at
    compile time (vars set); otherwise it is `1 = 1`. It never changes results: the joins carry
    the exact point-in-time conditions. -#}
{% macro prefilter(date_column, lookback_days, lookahead_days=0) -%}
    {%- set as_of = churn_warning.date_var('as_of_date') -%}
    {%- set start = as_of if churn_warning.build_dates_mode() == 'as_of_date' else churn_warning.date_var('panel_start') -%}
    {%- set parts = [] -%}
    {%- if as_of is not none -%}
        {%- set hi = modules.datetime.datetime.strptime(as_of, '%Y-%m-%d') + modules.datetime.timedelta(days=lookahead_days) -%}
        {%- do parts.append(date_column ~ " <= date '" ~ hi.strftime('%Y-%m-%d') ~ "'") -%}
    {%- endif -%}
    {%- if start is not none and lookback_days is not none -%}
        {%- set lo = modules.datetime.datetime.strptime(start, '%Y-%m-%d') - modules.datetime.timedelta(days=lookback_days) -%}
        {%- do parts.append(date_column ~ " > date '" ~ lo.strftime('%Y-%m-%d') ~ "'") -%}
    {%- endif -%}
    {%- if parts -%}{{ parts | join(' and ') }}{%- else -%}1 = 1{%- endif -%}
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
