{#- Render the indicator catalog of a model from the graph: every documented column whose meta
    names a family. Runs at execution time (the graph is complete then); at parse time it emits a
    typed empty select so dbt can plan the model. -#}
{% macro indicator_catalog_sql(model_name) -%}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', model_name) | list -%}
        {%- if nodes | length != 1 -%}
            {{ exceptions.raise_compiler_error("indicator catalog: model '" ~ model_name ~ "' not found") }}
        {%- endif -%}
        {%- for column in nodes[0].columns.values() -%}
            {%- set meta = column.get('config', {}).get('meta', {}) or column.get('meta', {}) -%}
            {%- if meta.get('family') -%}
                {%- do rows.append({
                    'indicator': column.name, 'family': meta.family, 'name_en': meta.name_en,
                    'name_zh': meta.name_zh, 'formula': meta.formula, 'unit': meta.unit,
                    'risk_direction': meta.risk_direction, 'data_type': column.data_type,
                    'window_days': meta.get('window_days'), 'description': column.description}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set text_columns = ['indicator', 'family', 'name_en', 'name_zh', 'formula', 'unit',
        'risk_direction', 'data_type'] -%}
    {%- if rows | length == 0 %}
select
    {% for c in text_columns -%}
    cast(null as varchar) as {{ c }},
    {% endfor -%}
    cast(null as integer) as window_days,
    cast(null as varchar) as description,
    cast(null as integer) as ordinal
where 1 = 0
    {%- else -%}
        {%- for row in rows %}
select
    {% for c in text_columns -%}
    {{ churn_warning.sql_string(row[c]) }} as {{ c }},
    {% endfor -%}
    cast({{ row.window_days if row.window_days is not none else 'null' }} as integer) as window_days,
    {{ churn_warning.sql_string(row.description) }} as description,
    {{ loop.index }} as ordinal
{% if not loop.last %}union all{% endif %}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro sql_string(value) -%}
    {%- if value is none -%}
        cast(null as varchar)
    {%- else -%}
        '{{ value | string | replace("'", "''") | trim }}'
    {%- endif -%}
{%- endmacro %}
