"""deploy/grafana-dashboard.json queries only metrics the service serves (issue 14, item 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"


def test_every_metric_in_the_dashboard_exists():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    metrics = Metrics()
    metrics.unmet.labels("all_full").inc()
    metrics.waiting_seconds.labels("alpha").observe(42)
    served = metrics.render().decode()
    names = {m for e in exprs for m in re.findall(r"\btsunagu_[a-z_]+", e)}
    assert "tsunagu_counselors_on_duty" in names
    for name in names:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert re.search(rf"^# TYPE ({name}|{base}) ", served, re.M), f"{name} is not served at /metrics"
    assert 'tsunagu_unmet_demand_total{reason="all_full"} 1.0' in served
    assert 'tsunagu_waiting_seconds_bucket{le="60.0",org="alpha"} 1.0' in served
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
