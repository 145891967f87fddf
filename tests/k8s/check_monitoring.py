#!/usr/bin/env python3
"""Checks deploy/k8s/monitoring offline (issue 20), run by tests/k8s/validate.sh.

Usage: check_monitoring.py --kustomize BIN [--promtool BIN] [--deploy-root DIR] [--repo DIR]

--deploy-root holds the deploy/ to check (a mutated copy in validate.sh's breakage runs);
--repo the repository whose tests/k8s (schemas, promtool tests) and docs/operations.md are used.
For each overlay that has a monitoring/ directory:
  * it renders, and holds only PodMonitors, PrometheusRules and the dashboard's ConfigMap;
  * PodMonitor and PrometheusRule against the prometheus-operator CRD schemas vendored in
    tests/k8s/schemas (strict: unknown fields are errors), the ConfigMap against Kubernetes';
  * one PodMonitor per service, selecting that service's pods (and no other) on a port the
    pods name, with the service's name as the job label;
  * `promtool check rules` on the rule groups; `promtool test rules` with
    tests/k8s/monitoring/rules_test.yaml; every alert has a severity, a summary and a
    runbook_url whose anchor is a heading of docs/operations.md;
  * the Grafana dashboard: a row per service and one for the pipeline's latency, a query in
    every panel, the data source a variable.
Prints one line per (overlay, rule) and "N passed, M failed"; exits 1 when any failed.
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml
from kubernetes_validate import utils as kv

import check_manifests
from check_manifests import report  # the same "ok/FAILED overlay: rule" lines and counts

SERVICES = ("ingest", "router", "crm-writer", "notifier", "reconciler")
DASHBOARD_ROWS = ("Pipeline latency", "ingest", "router", "crm-writer", "notifier", "reconciler")
KINDS = {"PodMonitor", "PrometheusRule", "ConfigMap"}

def strict(schema):
    """The schema with additionalProperties: false wherever properties are listed and nothing
    else is allowed: what the API server's field validation does with a structural CRD."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            # Go's RE2 takes an inline flag anywhere, Python's re only at the start.
            if isinstance(node.get("pattern"), str) and node["pattern"].startswith("^(?i)"):
                node["pattern"] = "(?i)^" + node["pattern"][5:]
            if "properties" in node and "additionalProperties" not in node \
                    and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(s)
    return s


def kustomize_build(kustomize, path):
    out = subprocess.run([kustomize, "build", path], capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-3:]
    return [o for o in yaml.safe_load_all(out.stdout) if o], []


def github_anchors(markdown):
    """The anchors GitHub makes of a Markdown file's headings."""
    anchors = set()
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


# ------------------------------------------------------------------------------- the rules


def check_schemas(objs, schemas):
    problems = []
    for o in objs:
        kind, name = o.get("kind"), o.get("metadata", {}).get("name")
        if kind not in KINDS:
            problems.append(f"{kind}/{name}: not a monitoring object")
            continue
        try:
            if kind == "ConfigMap":
                kv.validate(o, "1.30.0", strict=True)
            else:
                if o.get("apiVersion") != "monitoring.coreos.com/v1":
                    problems.append(f"{kind}/{name}: apiVersion {o.get('apiVersion')}")
                jsonschema.validate(o, schemas[kind])
        except (jsonschema.ValidationError, kv.ValidationError) as e:
            where = "/".join(str(p) for p in getattr(e, "absolute_path", []) or getattr(e, "path", []))
            problems.append(f"{kind}/{name}: {where}: {getattr(e, 'message', e)}")
    return problems


def check_podmonitors(objs, app_objs):
    problems = []
    monitors = [o for o in objs if o["kind"] == "PodMonitor"]
    pods = {}
    for o in app_objs:
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            spec = o["spec"]["template"]
            ports = {p.get("name") for c in spec["spec"]["containers"] for p in c.get("ports", [])}
            pods[o["metadata"]["name"]] = (spec["metadata"].get("labels", {}), ports,
                                           o["metadata"].get("namespace"))
    for svc in SERVICES:
        labels, ports, namespace = pods.get(svc, ({}, set(), None))
        mine = [m for m in monitors
                if all(labels.get(k) == v for k, v in m["spec"]["selector"].get("matchLabels", {}).items())
                and m["spec"]["selector"].get("matchLabels")]
        if len(mine) != 1:
            problems.append(f"{svc}: {len(mine)} PodMonitors select its pods (want 1)")
            continue
        m = mine[0]
        if m["metadata"].get("namespace") != namespace:
            problems.append(f"PodMonitor/{m['metadata']['name']}: namespace {m['metadata'].get('namespace')}, "
                            f"the pods' is {namespace}")
        if m["spec"].get("jobLabel") != "app.kubernetes.io/name" or labels.get("app.kubernetes.io/name") != svc:
            problems.append(f"PodMonitor/{m['metadata']['name']}: the job label is not the service's name "
                            "(the alerts and the dashboard select job=\"{svc}\")")
        for ep in m["spec"].get("podMetricsEndpoints", []):
            if ep.get("port") not in ports:
                problems.append(f"PodMonitor/{m['metadata']['name']}: port {ep.get('port')!r} is not a "
                                f"port of the {svc} pods ({sorted(p for p in ports if p)})")
            if ep.get("path", "/metrics") != "/metrics":
                problems.append(f"PodMonitor/{m['metadata']['name']}: path {ep.get('path')}")
        others = [n for n, (lab, _, _) in pods.items() if n != svc and
                  all(lab.get(k) == v for k, v in m["spec"]["selector"]["matchLabels"].items())]
        if others:
            problems.append(f"PodMonitor/{m['metadata']['name']} also selects {others}")
    return problems


def rule_groups(objs):
    groups = []
    for o in objs:
        if o["kind"] == "PrometheusRule":
            groups += o["spec"].get("groups", [])
    return groups


def run_promtool(promtool, args, cwd):
    out = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=cwd)
    return out.returncode, (out.stdout + out.stderr).strip().splitlines()


def check_rules_syntax(groups, promtool, work):
    if not groups:
        return ["no PrometheusRule groups"]
    with open(f"{work}/rules.yaml", "w") as f:
        yaml.safe_dump({"groups": groups}, f, sort_keys=False)
    rc, lines = run_promtool(promtool, ["check", "rules", "rules.yaml"], work)
    return [] if rc == 0 else lines[-10:]


def check_rules_tests(groups, promtool, test_file, work):
    bare = copy.deepcopy(groups)
    for g in bare:
        for r in g["rules"]:
            r.pop("annotations", None)
    with open(f"{work}/rules.yaml", "w") as f:
        yaml.safe_dump({"groups": bare}, f, sort_keys=False)
    shutil.copy(test_file, f"{work}/rules_test.yaml")
    tests = yaml.safe_load(open(test_file))
    tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
    problems = [f"alert {r['alert']} has no promtool test" for g in groups for r in g["rules"]
                if "alert" in r and r["alert"] not in tested]
    rc, lines = run_promtool(promtool, ["test", "rules", "rules_test.yaml"], work)
    if rc != 0:
        problems += lines[-40:]
    return problems


def check_annotations(groups, anchors):
    problems = []
    for g in groups:
        for r in g["rules"]:
            if "alert" not in r:
                continue
            a, ann = r["alert"], r.get("annotations", {})
            if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"{a}: severity label missing or unknown")
            if not ann.get("summary"):
                problems.append(f"{a}: no summary")
            url = ann.get("runbook_url", "")
            m = re.match(r"^https://[^#\s]+/docs/operations\.md#([\w-]+)$", url)
            if not m:
                problems.append(f"{a}: runbook_url {url!r} is not a link into docs/operations.md")
            elif m.group(1) not in anchors:
                problems.append(f"{a}: runbook_url anchor #{m.group(1)} is not a heading of docs/operations.md")
    return problems


def check_dashboard(objs):
    problems = []
    cms = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    if len(cms) != 1:
        return [f"{len(cms)} ConfigMaps labelled grafana_dashboard=1 (want 1)"]
    files = cms[0].get("data", {})
    if len(files) != 1:
        return [f"the dashboard ConfigMap holds {len(files)} files"]
    name, text = next(iter(files.items()))
    try:
        dash = json.loads(text)
    except ValueError as e:
        return [f"{name}: not JSON: {e}"]
    if not dash.get("uid") or not dash.get("title"):
        problems.append(f"{name}: no uid or title")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        problems.append(f"{name}: no datasource variable")
    rows = [p["title"] for p in dash.get("panels", []) if p.get("type") == "row"]
    for want in DASHBOARD_ROWS:
        if want not in rows:
            problems.append(f"{name}: no row {want!r} (rows: {rows})")
    seen_ids = set()
    for p in dash.get("panels", []):
        if p.get("id") in seen_ids:
            problems.append(f"{name}: panel id {p.get('id')} twice")
        seen_ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        exprs = [t.get("expr") for t in p.get("targets", [])]
        if not exprs or not all(exprs):
            problems.append(f"{name}: panel {p.get('title')!r} has a target without a query")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"{name}: panel {p.get('title')!r} does not use the datasource variable")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kustomize", required=True)
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap.add_argument("--repo", default=repo)
    ap.add_argument("--deploy-root", default=None)
    a = ap.parse_args()
    root = a.deploy_root or a.repo
    schemas = {kind: strict(json.load(open(f"{a.repo}/tests/k8s/schemas/{f}.schema.json")))
               for kind, f in (("PodMonitor", "podmonitor"), ("PrometheusRule", "prometheusrule"))}
    anchors = github_anchors(open(f"{a.repo}/docs/operations.md", encoding="utf-8").read())
    test_file = f"{a.repo}/tests/k8s/monitoring/rules_test.yaml"
    if not shutil.which(a.promtool):
        report("monitoring", "promtool installed (Debian package prometheus)", ["promtool not found"])
    overlays = sorted(d for d in os.listdir(f"{root}/deploy/k8s/overlays")
                      if os.path.isdir(f"{root}/deploy/k8s/overlays/{d}/monitoring"))
    if not overlays:
        report("monitoring", "an overlay has a monitoring/ directory", ["none has"])
    for env in overlays:
        objs, err = kustomize_build(a.kustomize, f"{root}/deploy/k8s/overlays/{env}/monitoring")
        label = f"{env}/monitoring"
        report(label, f"renders ({len(objs or [])} objects)", err)
        if objs is None:
            continue
        app_objs, err = kustomize_build(a.kustomize, f"{root}/deploy/k8s/overlays/{env}")
        report(label, "schemas (prometheus-operator CRDs, strict)", check_schemas(objs, schemas))
        report(label, "a PodMonitor per service on its ops port",
               check_podmonitors(objs, app_objs or []) if app_objs is not None else err)
        groups = rule_groups(objs)
        with tempfile.TemporaryDirectory() as work:
            report(label, "promtool check rules", check_rules_syntax(groups, a.promtool, work))
            report(label, "promtool test rules (tests/k8s/monitoring/rules_test.yaml)",
                   check_rules_tests(groups, a.promtool, test_file, work))
        report(label, "alerts: severity, summary, runbook_url into docs/operations.md",
               check_annotations(groups, anchors))
        report(label, "Grafana dashboard: rows, queries, datasource variable", check_dashboard(objs))
    print(f"{check_manifests.passed} passed, {check_manifests.failed} failed")
    return 1 if check_manifests.failed else 0


if __name__ == "__main__":
    sys.exit(main())
