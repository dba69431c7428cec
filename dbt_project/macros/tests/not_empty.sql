{#- The relation holds at least one row (a mart that silently comes out empty fails loudly). -#}
{% test not_empty(model) %}
select 1 as missing_rows
from (select count(*) as n from {{ model }}) as counted
where counted.n = 0
{% endtest %}
