{#- An order-independent fingerprint of a set of rows: the sum of a 64-bit hash of each row's
    key columns. Two sets with the same count and fingerprint hold the same rows (up to a hash
    collision). Used to find the as_of_dates whose labels changed since an incremental mart was
    built (training_panel). -#}

{% macro row_fingerprint(columns) -%}
    {{ return(adapter.dispatch('row_fingerprint', 'churn_warning')(columns)) }}
{%- endmacro %}

{% macro duckdb__row_fingerprint(columns) -%}
    sum(hash({{ columns | join(', ') }}))
{%- endmacro %}

{% macro default__row_fingerprint(columns) -%}
    sum(cast(xxhash64({{ columns | join(', ') }}) as decimal(38, 0)))
{%- endmacro %}
