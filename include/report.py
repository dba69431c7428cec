"""A self-contained HTML report of one run, read from the published snapshot (plan 3.1(4))."""

from __future__ import annotations

import html
from pathlib import Path

import duckdb
import numpy as np
from jinja2 import Environment, select_autoescape

from include.config import RISK_LEVELS
from include.warehouse import scalar

LEVEL_COLOURS = {"red": "#c0392b", "orange": "#e67e22", "yellow": "#d4ac0d", "green": "#27ae60"}

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Churn early warning, {{ as_of_date }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f4f4f4}.level{color:#fff;padding:.1rem .5rem;border-radius:.3rem}
.cards{display:flex;gap:1rem}.card{border:1px solid #ddd;border-radius:.5rem;padding:1rem;min-width:9rem}
.card b{font-size:1.6rem;display:block}
</style></head><body>
<h1>Churn early warning &mdash; as of {{ as_of_date }}</h1>
<p>Run <code>{{ run_id }}</code>. Model <code>{{ model_version }}</code>. {{ customers }} customers scored.</p>
<h2>Alerts by risk level</h2>
<div class="cards">{% for level, n in level_counts %}
<div class="card" id="level-{{ level }}"><span class="level" style="background:{{ colours[level] }}">{{ level }}</span><b>{{ n }}</b>
{{ "≥ %.1f%%"|format(100 * cutoffs[level]) if level in cutoffs else "below the yellow cut-off" }}</div>{% endfor %}
</div>
<h2>Distribution of churn probability</h2>
{{ histogram|safe }}
<h2>Top alerts</h2>
<table id="top-alerts"><tr><th>Customer</th><th>Name</th><th>Level</th><th>Churn probability</th><th>Main reasons</th>
<th>Recommended action</th><th>Relationship manager</th></tr>
{% for a in alerts %}<tr><td>{{ a.customer_id }}</td><td>{{ a.customer_name_masked or "" }}</td>
<td><span class="level" style="background:{{ colours[a.risk_level] }}">{{ a.risk_level }}</span></td>
<td>{{ "%.1f%%"|format(100 * a.churn_probability) }}</td><td>{{ a.reasons }}</td>
<td>{{ a.recommended_action }}</td><td>{{ a.relationship_manager_id or "" }}</td></tr>{% endfor %}
</table>
<h2>Data quality</h2>
{% if dq %}<table id="data-quality"><tr><th>Severity</th><th>Checks</th><th>Failed</th></tr>
{% for row in dq %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td>{{ row[2] }}</td></tr>{% endfor %}</table>
{% else %}<p>No data-quality results in this snapshot.</p>{% endif %}
</body></html>
"""


def _histogram_svg(probabilities: np.ndarray, bins: int = 20) -> str:
    if probabilities.size == 0:
        return "<p>No scores.</p>"
    counts, edges = np.histogram(probabilities, bins=bins, range=(0.0, 1.0))
    width, height, bar = 600, 160, 600 / bins
    peak = max(int(counts.max()), 1)
    rects = []
    for i, count in enumerate(counts):
        h = height * np.log1p(count) / np.log1p(peak)
        rects.append(
            f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="#34495e">'
            f"<title>{edges[i]:.2f}-{edges[i + 1]:.2f}: {count}</title></rect>"
        )
    return (
        f'<svg id="probability-histogram" width="{width}" height="{height + 20}" role="img" '
        f'aria-label="churn probability histogram (log scale)">{"".join(rects)}'
        f'<text x="0" y="{height + 15}" font-size="11">0%</text>'
        f'<text x="{width - 30}" y="{height + 15}" font-size="11">100%</text></svg>'
    )


def write_report(published_path: Path, out_path: Path, *, as_of_date: str, run_id: str, top_n: int = 50) -> Path:
    con = duckdb.connect(str(published_path), read_only=True)
    try:
        tables = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
        probabilities = np.asarray(
            [r[0] for r in con.execute(
                "select churn_probability from customer_risk_scores where as_of_date = ?", [as_of_date]
            ).fetchall()],
            dtype=float,
        )
        counts = dict(con.execute(
            "select risk_level, count(*) from customer_risk_scores where as_of_date = ? group by 1", [as_of_date]
        ).fetchall())
        cutoffs = dict(con.execute(
            "select risk_level, min_churn_probability from risk_parameters where as_of_date = ?", [as_of_date]
        ).fetchall())
        model = scalar(con, "select max(model_version) from customer_risk_scores where as_of_date = ?", [as_of_date])
        alert_cols = [r[0] for r in con.execute("describe churn_alerts").fetchall()]
        reason_cols = [c for c in ("reason_1", "reason_2", "reason_3") if c in alert_cols]
        rows = con.execute(
            f"select customer_id, customer_name_masked, risk_level, churn_probability, recommended_action, "
            f"relationship_manager_id{''.join(', ' + c for c in reason_cols)} from churn_alerts "
            f"where as_of_date = ? order by churn_probability desc limit {int(top_n)}",
            [as_of_date],
        ).fetchall()
        dq = []
        if "data_quality_results" in tables:
            dq = con.execute(
                "select severity, count(*), count(*) filter (where not success) from data_quality_results "
                "where run_id = ? group by 1 order by 1",
                [run_id],
            ).fetchall()
    finally:
        con.close()
    alerts = []
    for row in rows:
        reasons = "; ".join(str(r) for r in row[6:] if r)
        alerts.append(
            dict(customer_id=row[0], customer_name_masked=row[1], risk_level=row[2], churn_probability=row[3],
                 recommended_action=row[4], relationship_manager_id=row[5], reasons=reasons)
        )
    env = Environment(autoescape=select_autoescape(default=True))
    page = env.from_string(TEMPLATE).render(
        as_of_date=as_of_date,
        run_id=html.escape(run_id),
        model_version=model,
        customers=int(probabilities.size),
        level_counts=[(level, int(counts.get(level, 0))) for level in RISK_LEVELS],
        cutoffs=cutoffs,
        colours=LEVEL_COLOURS,
        histogram=_histogram_svg(probabilities),
        alerts=alerts,
        dq=dq,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path
