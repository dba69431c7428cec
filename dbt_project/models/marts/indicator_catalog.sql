-- The indicator catalog as a table (published to BI as indicator_catalog): one row per indicator
-- column of customer_indicators, read at run time from the column docs and meta in
-- customer_indicators.yml. The YAML is the one source of truth; this table and `dbt docs`
-- both render it, so they cannot drift apart.
{{ churn_warning.indicator_catalog_sql('customer_indicators') }}
