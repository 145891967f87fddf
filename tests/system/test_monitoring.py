"""deploy/k8s/monitoring against the running services (issue 20): every metric the Grafana
dashboard and the alert rules query, and every label they select or group by, must be one the
five services really export on /metrics — scraped live after a call went through the pipeline
and the reconciler (against the fake UIS) completed a pass. Series that come from elsewhere are
named in EXTERNAL."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from pipeline_stack import CRMCTL, Pipeline, new_call_id, wait_until
from pipeline_support import Service
from uis_support import FakeUis, new_key

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "k8s" / "monitoring"
# Not the services': Prometheus' own target health, and the Kafka cluster's exporter (Strimzi's
# kafkaExporter) for consumer lag.
EXTERNAL = {"up", "kafka_consumergroup_lag"}
# Labels Prometheus adds to every scraped series (the PodMonitor's target labels).
TARGET_LABELS = {"namespace", "pod", "job", "instance", "container", "endpoint"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan"}
IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def selectors(expr):
    """(metric, {label: value}) for every series selector of a PromQL expression (Grafana's
    $variables included) and the label lists of its by (...) clauses as ('by', [labels], metric
    the clause aggregates, when it is a single one)."""
    expr = re.sub(r"\$\{?\w+\}?", "VAR", expr)
    found, groupings = [], []
    # by (labels) (func(metric... : the metric a grouping applies to, when it is plain
    for m in re.finditer(rf"\bby\s*\(([\w\s,]*)\)\s*\(\s*(?:(?:rate|increase|irate)\s*\()?\s*({IDENT})\s*[{{\[)]", expr):
        groupings.append(([x.strip() for x in m.group(1).split(",") if x.strip()], m.group(2)))
    body = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    body = re.sub(r"\[[^\]]*\]", " ", body)
    for m in re.finditer(rf"(?<![\w:.])(?:({IDENT})?\s*\{{([^}}]*)\}}|({IDENT})(\s*\()?)", body):
        if m.group(2) is not None:
            matchers = dict(re.findall(r'(\w+)\s*=~?\s*"([^"]*)"', m.group(2)))
            found.append((m.group(1), matchers))
        elif not m.group(4) and m.group(3).lower() not in KEYWORDS:
            found.append((m.group(3), {}))
    return [(name, lab) for name, lab in found if name and not re.fullmatch(r"\d.*", name)], groupings


def queries():
    """Every PromQL query of the dashboard and the rules, with where it is."""
    out = []
    dash = json.loads((MONITORING / "dashboards" / "uis-crm-pipeline.json").read_text())
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((f"panel {p['title']!r}", t["expr"]))
    for v in dash["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            m = re.match(rf"label_values\(({IDENT}),\s*(\w+)\)", q["query"])
            out.append((f"variable {v['name']}", f"sum by ({m.group(2)}) ({m.group(1)})"))
    for doc in yaml.safe_load_all((MONITORING / "prometheusrule.yaml").read_text()):
        for g in doc["spec"]["groups"]:
            for r in g["rules"]:
                out.append((f"alert {r.get('alert') or r.get('record')}", r["expr"]))
    return out


def parse_scrape(text):
    """{series name: set of label names seen} from a Prometheus text exposition; a histogram's
    _bucket/_sum/_count and a declared family with no samples yet count too."""
    names = {}
    for line in text.splitlines():
        m = re.match(rf"# TYPE ({IDENT}) (\w+)", line)
        if m:
            kinds = ["_bucket", "_sum", "_count"] if m.group(2) == "histogram" else [""]
            for suffix in kinds:
                names.setdefault(m.group(1) + suffix, set())
            continue
        m = re.match(rf"({IDENT})(?:\{{([^}}]*)\}})?\s", line)
        if m and not line.startswith("#"):
            names.setdefault(m.group(1), set()).update(re.findall(r'(\w+)="', m.group(2) or ""))
    return names


def problems(qs, exported):
    """What the queries use that the scrape does not have."""
    out = []
    for where, expr in qs:
        sels, groupings = selectors(expr)
        if not sels:
            out.append(f"{where}: no metric found in {expr!r}")
        for name, matchers in sels:
            if name in EXTERNAL:
                continue
            if name not in exported:
                out.append(f"{where}: {name} is not exported")
                continue
            for label in matchers:
                if label not in TARGET_LABELS and exported[name] and label not in exported[name]:
                    out.append(f"{where}: {name} has no label {label} ({sorted(exported[name])})")
        for labels, name in groupings:
            if name in EXTERNAL or name not in exported or not exported[name]:
                continue
            for label in labels:
                if label not in TARGET_LABELS | exported[name]:
                    out.append(f"{where}: {name} has no label {label} to group by ({sorted(exported[name])})")
    return out


def test_the_name_check_catches_what_is_not_exported():
    exported = parse_scrape('# TYPE ingest_requests_total counter\ningest_requests_total{code="200"} 3\n'
                            "# TYPE ingest_delivery_seconds histogram\n"
                            'ingest_delivery_seconds_bucket{le="0.1"} 1\n')
    good = [("a", 'sum by (code) (rate(ingest_requests_total{namespace="$namespace",code="503"}[5m]))'),
            ("b", "histogram_quantile(0.99, sum by (le) (rate(ingest_delivery_seconds_bucket[$__rate_interval])))"),
            ("c", "up{job=~\"ingest|router\"} == 0 or kafka_consumergroup_lag offset 15m > 1000")]
    assert problems(good, exported) == []
    assert problems([("d", "sum(rate(ingest_request_total[5m]))")], exported) == \
        ["d: ingest_request_total is not exported"]
    assert problems([("e", 'rate(ingest_requests_total{status="503"}[5m])')], exported)
    assert problems([("f", "sum by (field) (rate(ingest_requests_total[5m]))")], exported)
    assert problems([("g", "histogram_quantile(0.5, rate(ingest_delivery_seconds_buckets[5m]))")], exported)


@pytest.fixture(scope="module")
def pipe(stack):
    fake = FakeUis(minute_seconds=4)
    with Pipeline.on_own_topics(stack) as p:
        p.fake = fake
        yield p
        if getattr(p, "reconciler", None):
            p.reconciler.stop()
    fake.close()


def start_reconciler(pipe, t):
    """The tenant's UIS key accepted by the fake UIS, and a reconciler passing over it."""
    key = new_key()
    pipe.fake.account(key, app_id=4242, name=f"Acc {t.id}", timezone="Europe/Moscow")
    pipe.fake.employees(key, [{"id": 11, "full_name": "Anna", "extension": "101"}])
    out = subprocess.run([CRMCTL, "tenant", "uis-key", t.id], input=key, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, **pipe.env, **pipe.fake.env()))
    assert out.returncode == 0, out.stderr
    pipe.reconciler = Service("reconciler", dict(pipe.env, **pipe.fake.env(), RECONCILE_TENANTS=t.id,
                                                 RECONCILE_INTERVAL_S="1", RECONCILE_SETTLE_S="0"))
    pipe.reconciler.start(ready_timeout=60)
    return pipe.reconciler


def test_dashboard_and_rules_use_only_exported_metrics(pipe):
    t = pipe.tenant()
    t.user("anna", ext="101")
    stream = t.stream("anna")
    cid = new_call_id()
    for state in ("RINGING", "ANSWERED", "HANGUP"):
        t.post(cid, state, "79031234567", ext="101")
    # a refused body: ingest's refusals by field
    assert requests.post(t.url, data='{"call_state":"RINGING"}', timeout=10).status_code == 400
    wait_until(lambda: cid in {p["call_id"] for p in stream.popups()}, what="the call's popup")
    wait_until(lambda: t.contact(cid), what="the call's contact row")
    rec = start_reconciler(pipe, t)
    # it asked UIS (the fake) for the tenant's account: its UIS calls are counted by method
    wait_until(lambda: re.search(r"^reconciler_uis_calls_total\{", rec.ops("/metrics").text, re.M),
               timeout=60, what=f"the reconciler's first UIS call ({rec.ops('/metrics').text[-1500:]})")

    exported = {}
    for name, svc in [*pipe.services.items(), ("reconciler", rec)]:
        r = svc.ops("/metrics")
        assert r.status_code == 200, name
        for series, labels in parse_scrape(r.text).items():
            exported.setdefault(series, set()).update(labels)
    assert "ingest_requests_total" in exported and "notifier_connections" in exported, sorted(exported)

    qs = queries()
    used = {n for _, e in qs for n, _ in selectors(e)[0]}
    # the rules and the dashboard cover every service
    for prefix in ("ingest_", "router_", "crmw_", "notifier_", "reconciler_"):
        assert any(n.startswith(prefix) for n in used), prefix
    assert problems(qs, exported) == []
