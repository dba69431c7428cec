{#- Every row satisfies a boolean SQL expression. Fails with the rows that do not. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
