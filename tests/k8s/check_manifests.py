#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests (kustomize build output) offline.

Usage: check_manifests.py --strimzi-schema FILE [--strimzi-user-schema FILE] [--k8s-version 1.30]
                          NAME=RENDERED.yaml ...

For each rendered overlay:
  * every object against the Kubernetes OpenAPI JSON schemas shipped in the PyPI package
    kubernetes-validate (strict: unknown fields are errors), KafkaTopics and KafkaUsers against
    the Strimzi CRD schemas (tests/k8s/schemas); an object of any other kind is an error;
  * the Kafka users of issue 19: one per service, with exactly the rights of
    deploy/local/kafka_acls.py (ingest cannot write popups, only crmctl writes tenant tokens),
    mounted by the service's pods, over the TLS listener;
  * the policies of issue 9 (probes, resources, security context, secrets, disruption budgets,
    autoscalers bounded by partitions, network policies, topics, ingress for SSE, ...).
Prints one line per (overlay, rule) and "N passed, M failed"; exits 1 when any failed.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml
from kubernetes_validate import utils as kv

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "deploy" / "local"))
from kafka_acls import ACLS, OPERATIONS  # noqa: E402  (the one table of who may do what)

USER_SCHEMA = None  # the Strimzi KafkaUser schema, loaded by main()
KAFKA_USER_PREFIX = "uis-crm-"  # KafkaUser (and its Secret) of service s: uis-crm-<s>

SERVICES = ("ingest", "router", "crm-writer", "notifier", "reconciler")
CONSUMER_GROUPS = {"router": "TOPIC_CALL_EVENTS", "crm-writer": "TOPIC_ACTIONS"}  # input topics
OPS_PORTS = {"ingest": 9101, "router": 9102, "crm-writer": 9103, "notifier": 9104,
             "reconciler": 9105}
SECRET_NAMES = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|DSN|KEYS?)$")
PG_USERS = {"router", "crm-writer", "crm-migrate", "reconciler"}
KAFKA_PORTS = {9092, 9093}
DNS_PORT = 53

passed = failed = 0


def report(overlay, rule, problems):
    global passed, failed
    if problems:
        failed += 1
        print(f"FAILED  {overlay}: {rule}")
        for p in problems:
            print(f"          - {p}")
    else:
        passed += 1
        print(f"ok      {overlay}: {rule}")


def kn(o):
    return f"{o['kind']}/{o['metadata']['name']}"


def pod_spec(o):
    if o["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
        return o["spec"]["template"]["spec"]
    if o["kind"] == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(o):
    if o["kind"] == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return o["spec"]["template"]["metadata"].get("labels", {})


def selects(selector, labels):
    """A LabelSelector (matchLabels + matchExpressions) against a label set."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def quantity(q):
    """A CPU or memory quantity as a float (cores or bytes)."""
    q = str(q)
    units = {"m": 1e-3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1e3, "M": 1e6, "G": 1e9}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def effective_env(container, configmaps):
    """The container's environment: envFrom ConfigMaps, then env (later wins)."""
    env = {}
    for ef in container.get("envFrom") or []:
        ref = ef.get("configMapRef")
        if ref and ref["name"] in configmaps:
            env.update(configmaps[ref["name"]])
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            env[e["name"]] = e.get("valueFrom")
    return env


# ------------------------------------------------------------------------------- the rules


def check_schemas(overlay, objs, version, strimzi):
    problems = []
    for o in objs:
        try:
            if o.get("kind") == "KafkaTopic":
                jsonschema.validate(o, strimzi)
            elif o.get("kind") == "KafkaUser":
                jsonschema.validate(o, USER_SCHEMA)
            else:
                kv.validate(o, version, strict=True)
        except kv.SchemaNotFoundError as e:
            problems.append(f"{kn(o)}: no schema ({e.message})")
        except jsonschema.ValidationError as e:
            path = ".".join(str(p) for p in e.absolute_path)
            problems.append(f"{kn(o)}: {path}: {e.message[:300]}")
    report(overlay, f"{len(objs)} objects valid against the Kubernetes {version} schemas (strict) "
           "and the Strimzi KafkaTopic and KafkaUser schemas", problems)


def check_workloads(overlay, objs, by_kind, configmaps):
    workloads = [o for o in objs if pod_spec(o) is not None]
    long_running = [o for o in workloads if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]
    names = {o["metadata"]["name"] for o in long_running}
    report(overlay, "a workload for each of " + ", ".join(SERVICES),
           [f"no Deployment or StatefulSet named {s}" for s in SERVICES if s not in names])
    report(overlay, "router and crm-writer are StatefulSets (stable pod names for static membership)",
           [f"{s} is not a StatefulSet" for s in CONSUMER_GROUPS
            if not any(o["kind"] == "StatefulSet" and o["metadata"]["name"] == s for o in objs)])

    sec, res, img, probes, grace, spread, ident, env_p, misc = ([] for _ in range(9))
    for o in workloads:
        ps, name = pod_spec(o), kn(o)
        psc = ps.get("securityContext") or {}
        if ps.get("hostNetwork") or ps.get("hostPID") or ps.get("hostIPC"):
            sec.append(f"{name}: uses the host's namespaces")
        if any("hostPath" in v for v in ps.get("volumes") or []):
            sec.append(f"{name}: mounts a hostPath")
        if ps.get("automountServiceAccountToken") is not False:
            sec.append(f"{name}: automountServiceAccountToken is not false")
        if psc.get("runAsUser") == 0:
            sec.append(f"{name}: pod runs as uid 0")
        for c in (ps.get("initContainers") or []) + ps["containers"]:
            cn = f"{name}[{c['name']}]"
            csc = c.get("securityContext") or {}
            if not (csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True):
                sec.append(f"{cn}: runAsNonRoot is not true")
            if csc.get("runAsUser", psc.get("runAsUser", 1)) == 0:
                sec.append(f"{cn}: runs as uid 0")
            if csc.get("readOnlyRootFilesystem") is not True:
                sec.append(f"{cn}: readOnlyRootFilesystem is not true")
            if csc.get("allowPrivilegeEscalation") is not False:
                sec.append(f"{cn}: allowPrivilegeEscalation is not false")
            if csc.get("privileged"):
                sec.append(f"{cn}: privileged")
            if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                sec.append(f"{cn}: capabilities do not drop ALL")
            if (csc.get("capabilities") or {}).get("add"):
                sec.append(f"{cn}: adds capabilities")
            seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                sec.append(f"{cn}: seccompProfile is not RuntimeDefault")
            r = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for what in ("cpu", "memory"):
                    if what not in (r.get(kind) or {}):
                        res.append(f"{cn}: no {kind}.{what}")
            for what in ("cpu", "memory"):
                try:
                    if quantity(r["requests"][what]) > quantity(r["limits"][what]):
                        res.append(f"{cn}: requests.{what} above limits.{what}")
                except (KeyError, TypeError, ValueError):
                    pass
            image = c.get("image", "")
            tag = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
                img.append(f"{cn}: image {image!r} is not pinned to a tag or digest")
            env = effective_env(c, configmaps)
            for e in c.get("env") or []:
                if SECRET_NAMES.search(e["name"]) and "secretKeyRef" not in (e.get("valueFrom") or {}):
                    env_p.append(f"{cn}: {e['name']} is not taken from a Secret (secretKeyRef)")
            for k in env:
                if SECRET_NAMES.search(k) and not any(e["name"] == k for e in c.get("env") or []):
                    env_p.append(f"{cn}: {k} comes from a ConfigMap")
            if o["kind"] in ("Deployment", "StatefulSet"):
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
                svc = o["metadata"]["name"]
                for pname, path in (("startupProbe", None), ("livenessProbe", "/healthz"),
                                    ("readinessProbe", "/readyz")):
                    p = c.get(pname)
                    if not p or "httpGet" not in p:
                        probes.append(f"{cn}: no HTTP {pname}")
                        continue
                    if path and p["httpGet"].get("path") != path:
                        probes.append(f"{cn}: {pname} probes {p['httpGet'].get('path')}, not {path}")
                    port = p["httpGet"].get("port")
                    port = ports.get(port, port) if isinstance(port, str) else port
                    if svc in OPS_PORTS and port != OPS_PORTS[svc]:
                        probes.append(f"{cn}: {pname} on port {port}, the ops port is {OPS_PORTS[svc]}")
                if svc in OPS_PORTS:
                    if str(env.get("OPS_PORT")) != str(OPS_PORTS[svc]):
                        env_p.append(f"{cn}: OPS_PORT is {env.get('OPS_PORT')!r}, not {OPS_PORTS[svc]}")
                    if env.get("OPS_ADDR") != "0.0.0.0":
                        env_p.append(f"{cn}: OPS_ADDR is {env.get('OPS_ADDR')!r}: probes cannot reach it")
                    if "HTTP_PORT" in env and env.get("HTTP_ADDR") != "0.0.0.0":
                        env_p.append(f"{cn}: HTTP_ADDR is {env.get('HTTP_ADDR')!r}: the Service cannot reach it")
                    for k in ("KAFKA_BROKERS", "LOG_LEVEL", "TOPIC_DLQ"):
                        if not env.get(k):
                            env_p.append(f"{cn}: {k} is not set")
                    inst = ((env.get("INSTANCE_ID") or {}) if isinstance(env.get("INSTANCE_ID"), dict) else {})
                    if (inst.get("fieldRef") or {}).get("fieldPath") != "metadata.name":
                        ident.append(f"{cn}: INSTANCE_ID is not the pod name (fieldRef metadata.name)")
                # The grace period covers the preStop pause and the service's own drain.
                pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
                drain = int(env.get("DRAIN_MS", 0) or 0) / 1000 if isinstance(env.get("DRAIN_MS", 0), (str, int)) else 0
                need = max(pre + drain + 5, 30 if svc in CONSUMER_GROUPS else 10)
                have = ps.get("terminationGracePeriodSeconds", 30)
                if have < need:
                    grace.append(f"{cn}: terminationGracePeriodSeconds {have} < {need:g} "
                                 f"(preStop {pre} s + DRAIN_MS {drain:g} s + 5 s)")
        if o["kind"] in ("Deployment", "StatefulSet"):
            tsc = ps.get("topologySpreadConstraints") or []
            keys = {t["topologyKey"] for t in tsc if selects(t.get("labelSelector"), pod_labels(o))}
            for k in ("topology.kubernetes.io/zone", "kubernetes.io/hostname"):
                if k not in keys:
                    spread.append(f"{name}: no topology spread over {k} selecting its own pods")
    report(overlay, "security context: non-root, read-only root, no privilege escalation, "
           "capabilities dropped, seccomp RuntimeDefault, no token", sec)
    report(overlay, "resources: cpu and memory requests and limits on every container", res)
    report(overlay, "images pinned (tag or digest, never latest)", img)
    report(overlay, "probes: startup, liveness /healthz, readiness /readyz on the ops port", probes)
    report(overlay, "terminationGracePeriodSeconds covers preStop + drain", grace)
    report(overlay, "topology spread over zones and nodes", spread)
    report(overlay, "INSTANCE_ID is the pod name (group.instance.id)", ident)
    report(overlay, "environment: secrets only by secretKeyRef, ops/HTTP listen on 0.0.0.0, "
           "ports match", env_p)

    # Secrets: referenced, never shipped.
    report(overlay, "no Secret object in the manifests (created by the operator)",
           [f"{kn(o)} is in the manifests" for o in by_kind.get("Secret", [])])
    report(overlay, "no ConfigMap holds a secret-like key",
           [f"{kn(o)}: {k}" for o in by_kind.get("ConfigMap", [])
            for k in (o.get("data") or {}) if SECRET_NAMES.search(k)])

    # Disruption budgets and autoscalers.
    pdbs, hpas = by_kind.get("PodDisruptionBudget", []), by_kind.get("HorizontalPodAutoscaler", [])
    problems = []
    for o in long_running:
        match = [p for p in pdbs if selects(p["spec"].get("selector"), pod_labels(o))]
        if len(match) != 1:
            problems.append(f"{kn(o)}: {len(match)} PodDisruptionBudgets select its pods (want 1)")
        for p in match:
            if p["spec"].get("minAvailable") == "100%" or p["spec"].get("maxUnavailable") in (0, "0%"):
                problems.append(f"{kn(p)}: allows no disruption at all (blocks node drains)")
    report(overlay, "every Deployment and StatefulSet has one PodDisruptionBudget", problems)

    problems = []
    topics = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in by_kind.get("KafkaTopic", [])}
    for o in long_running:
        h = [x for x in hpas if x["spec"]["scaleTargetRef"]["kind"] == o["kind"]
             and x["spec"]["scaleTargetRef"]["name"] == o["metadata"]["name"]]
        if len(h) != 1:
            problems.append(f"{kn(o)}: {len(h)} HorizontalPodAutoscalers (want 1)")
            continue
        h = h[0]["spec"]
        if "replicas" in o["spec"]:
            problems.append(f"{kn(o)}: sets spec.replicas although an autoscaler owns it")
        if h.get("minReplicas", 1) > h["maxReplicas"]:
            problems.append(f"{kn(o)}: minReplicas {h.get('minReplicas')} > maxReplicas {h['maxReplicas']}")
        if not h.get("metrics"):
            problems.append(f"{kn(o)}: autoscaler has no metrics")
        svc = o["metadata"]["name"]
        if svc in CONSUMER_GROUPS:
            env = effective_env(pod_spec(o)["containers"][0], configmaps)
            topic = env.get(CONSUMER_GROUPS[svc])
            t = topics.get(topic)
            if t is None:
                problems.append(f"{kn(o)}: no KafkaTopic for its input {topic!r}")
            elif h["maxReplicas"] > t["spec"]["partitions"]:
                problems.append(f"{kn(o)}: maxReplicas {h['maxReplicas']} > {t['spec']['partitions']} "
                                f"partitions of {topic} (extra consumers would idle)")
    report(overlay, "autoscalers: one per workload, no fixed replicas, router/crm-writer bounded by partitions",
           problems)
    return workloads


def check_network(overlay, by_kind, workloads):
    pols = by_kind.get("NetworkPolicy", [])
    problems = []
    egress, has_deny = {}, {}
    for o in workloads:
        labels, name = pod_labels(o), o["metadata"]["name"]
        selecting = [p for p in pols if selects(p["spec"].get("podSelector"), labels)]
        has_deny[name] = all(t in {x for p in selecting for x in p["spec"].get("policyTypes", [])}
                             for t in ("Ingress", "Egress"))
        ports = set()
        for p in selecting:
            for rule in p["spec"].get("egress") or []:
                if not rule.get("ports"):
                    ports.add("any")
                if not rule.get("to"):
                    ports.add("anywhere")
                for port in rule.get("ports") or []:
                    if "endPort" in port:
                        ports.update(range(port["port"], port["endPort"] + 1))
                    else:
                        ports.add(port.get("port", "any"))
        egress[name] = ports
    for name, ok in has_deny.items():
        if not ok:
            problems.append(f"{name}: not isolated for both ingress and egress")
    for name, ports in egress.items():
        if "any" in ports or "anywhere" in ports:
            problems.append(f"{name}: an egress rule open to any port or anywhere")
        if 5432 in ports and name not in PG_USERS:
            problems.append(f"{name}: may reach PostgreSQL (5432); only {sorted(PG_USERS)} may")
        if name in PG_USERS and 5432 not in ports:
            problems.append(f"{name}: cannot reach PostgreSQL (5432)")
        if name in SERVICES and not KAFKA_PORTS & ports:
            problems.append(f"{name}: cannot reach Kafka")
        if DNS_PORT not in ports:
            problems.append(f"{name}: cannot resolve names (DNS 53)")
    if "ingest" in egress and egress["ingest"] - KAFKA_PORTS - {DNS_PORT}:
        problems.append(f"ingest: egress beyond Kafka and DNS: {sorted(map(str, egress['ingest'] - KAFKA_PORTS - {DNS_PORT}))}")
    report(overlay, "network policies: default deny; ingest reaches only Kafka and DNS; "
           "only router, crm-writer, the reconciler and the migration reach PostgreSQL", problems)


def check_services_ingress(overlay, objs, by_kind, workloads):
    problems = []
    services = {o["metadata"]["name"]: o for o in by_kind.get("Service", [])}
    for s in services.values():
        targets = [w for w in workloads if selects({"matchLabels": s["spec"].get("selector") or {}}, pod_labels(w))]
        if not targets:
            problems.append(f"{kn(s)}: selects no pods")
            continue
        names = {p.get("name") for w in targets for c in pod_spec(w)["containers"] for p in c.get("ports") or []}
        nums = {p["containerPort"] for w in targets for c in pod_spec(w)["containers"] for p in c.get("ports") or []}
        for p in s["spec"]["ports"]:
            t = p.get("targetPort", p["port"])
            if (isinstance(t, str) and t not in names) or (isinstance(t, int) and t not in nums):
                problems.append(f"{kn(s)}: targetPort {t} is no container port")
    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                b = path["backend"].get("service") or {}
                s = services.get(b.get("name"))
                port = b.get("port") or {}
                if s is None:
                    problems.append(f"{kn(ing)}: backend Service {b.get('name')} does not exist")
                elif not any(p.get("name") == port.get("name") or p["port"] == port.get("number")
                             for p in s["spec"]["ports"]):
                    problems.append(f"{kn(ing)}: Service {b.get('name')} has no port {port}")
    report(overlay, "Services select pods and name their ports; Ingress backends exist", problems)

    problems = []
    routes = {}
    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                routes[path["path"]] = (ing, path["backend"]["service"]["name"])
    if routes.get("/v1/uis/", (None, None))[1] != "ingest":
        problems.append("no Ingress routes /v1/uis/ to ingest")
    sse = routes.get("/v1/popups/stream")
    if not sse or sse[1] != "notifier":
        problems.append("no Ingress routes /v1/popups/stream to notifier")
    else:
        a = sse[0]["metadata"].get("annotations") or {}
        if a.get("nginx.ingress.kubernetes.io/proxy-buffering") != "off":
            problems.append(f"{kn(sse[0])}: proxy-buffering is not off (SSE events would be held back)")
        for k in ("proxy-read-timeout", "proxy-send-timeout"):
            v = a.get("nginx.ingress.kubernetes.io/" + k, "60")
            if int(v) < 300:
                problems.append(f"{kn(sse[0])}: {k} {v} s would cut streams")
    report(overlay, "Ingress: webhook path to ingest, SSE to notifier with buffering off and long timeouts",
           problems)


def check_edges(overlay, by_kind):
    """Issue 19: the Ingresses that carry tokens (webhook path, popup token query) do not write
    them into access logs, and limit connections per client address."""
    problems = []
    for ing in by_kind.get("Ingress", []):
        a = ing["metadata"].get("annotations") or {}
        if a.get("nginx.ingress.kubernetes.io/enable-access-log") != "false":
            problems.append(f"{kn(ing)}: the access log is on (it would keep the token in the URL)")
        if any(k.endswith(("-snippet", "/log-format-upstream")) and "$request" in str(v)
               for k, v in a.items()):
            problems.append(f"{kn(ing)}: a log format with $request")
        try:
            limit = int(a.get("nginx.ingress.kubernetes.io/limit-connections", "0"))
        except ValueError:
            limit = 0
        if limit <= 0:
            problems.append(f"{kn(ing)}: no limit-connections per client address")
    if not by_kind.get("Ingress"):
        problems.append("no Ingress")
    report(overlay, "Ingresses: no access log of token-bearing URLs, connections limited per "
           "client address", problems)


def check_topics(overlay, by_kind, configmaps):
    problems = []
    topics = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in by_kind.get("KafkaTopic", [])}
    wanted = {v for cm in configmaps.values() for k, v in cm.items() if k.startswith("TOPIC_")}
    for w in sorted(wanted - set(topics)):
        problems.append(f"topic {w} is configured but has no KafkaTopic")
    brokers = {cm.get("KAFKA_BROKERS") for cm in configmaps.values() if cm.get("KAFKA_BROKERS")}
    for name, t in topics.items():
        spec, cfg = t["spec"], t["spec"].get("config") or {}
        if spec.get("replicas") != 3:
            problems.append(f"{name}: replicas {spec.get('replicas')}, want 3")
        if str(cfg.get("min.insync.replicas")) != "2":
            problems.append(f"{name}: min.insync.replicas {cfg.get('min.insync.replicas')}, want 2")
        policy = str(cfg.get("cleanup.policy", "delete"))
        if name.startswith(("crm.tenant-tokens.", "crm.popup-users.", "crm.dial-readiness.")):
            if policy != "compact" or str(cfg.get("retention.ms")) != "-1":
                problems.append(f"{name}: must be compacted and kept forever (cleanup.policy compact, retention.ms -1)")
        elif "retention.ms" not in cfg:
            problems.append(f"{name}: no retention.ms")
        if not re.search(r"\.v\d+$", name):
            problems.append(f"{name}: not versioned (.vN)")
        cluster = t["metadata"]["labels"].get("strimzi.io/cluster")
        for b in brokers:
            if not b.startswith(f"{cluster}-kafka-bootstrap."):
                problems.append(f"{name}: cluster {cluster} is not the one in KAFKA_BROKERS ({b})")
    report(overlay, f"KafkaTopics ({len(topics)}): every configured topic, replicas 3, "
           "min.insync.replicas 2, retention, tenant tokens compacted forever, same cluster as the brokers",
           problems)


def check_kafka_users(overlay, by_kind, configmaps, workloads):
    """Each service's KafkaUser grants exactly what kafka_acls.ACLS says, on the topics
    pipeline-config names; its pods mount the user's certificate and talk TLS."""
    topics_of = {}
    for cm in configmaps.values():
        topics_of.update({k: v for k, v in cm.items() if k.startswith("TOPIC_")})
    users = {u["metadata"]["name"]: u for u in by_kind.get("KafkaUser", [])}
    problems, rights_problems = [], []
    for svc, acl in ACLS.items():
        name = KAFKA_USER_PREFIX + svc
        u = users.get(name)
        if u is None:
            problems.append(f"no KafkaUser {name} for {svc}")
            continue
        if (u["spec"].get("authentication") or {}).get("type") not in ("tls", "scram-sha-512"):
            problems.append(f"{kn(u)}: no authentication (tls or scram-sha-512)")
        want = {}
        for right in ("write", "read"):
            for var in acl[right]:
                topic = topics_of.get(var)
                if topic is None:
                    rights_problems.append(f"{kn(u)}: {var} is not in pipeline-config")
                    continue
                want.setdefault(("topic", topic, "literal"), set()).update(OPERATIONS[right])
        for prefix in acl["groups"]:
            want[("group", prefix, "prefix")] = {"Read"}
        have = {}
        for rule in (u["spec"].get("authorization") or {}).get("acls") or []:
            r = rule["resource"]
            key = (r["type"], r.get("name", ""), r.get("patternType", "literal"))
            if rule.get("type", "allow") != "allow":
                continue  # a deny only takes away
            if rule.get("host", "*") != "*":
                rights_problems.append(f"{kn(u)}: an ACL limited to host {rule['host']}")
            have.setdefault(key, set()).update(rule["operations"])
        for key in sorted(set(want) | set(have)):
            w, h = want.get(key, set()), have.get(key, set())
            if h - w:
                rights_problems.append(f"{kn(u)}: {'/'.join(key)}: {', '.join(sorted(h - w))} "
                                       f"not needed by {svc}")
            if w - h:
                rights_problems.append(f"{kn(u)}: {'/'.join(key)}: {', '.join(sorted(w - h))} "
                                       f"missing for {svc}")
    for name in sorted(set(users) - {KAFKA_USER_PREFIX + s for s in ACLS}):
        problems.append(f"KafkaUser/{name} belongs to no service")
    report(overlay, "a KafkaUser with authentication for each service and crmctl", problems)
    report(overlay, "Kafka ACLs: each user exactly its own topics and groups (ingest cannot "
           "write popups, only crmctl writes tenant tokens and popup users)", rights_problems)

    # Who may write the topics an attacker would want: said once more, plainly.
    writers = {}
    for u in users.values():
        for rule in (u["spec"].get("authorization") or {}).get("acls") or []:
            r = rule["resource"]
            if r["type"] == "topic" and rule.get("type", "allow") == "allow" and \
                    {"Write", "All"} & set(rule["operations"]):
                writers.setdefault(r.get("name"), set()).add(u["metadata"]["name"])
                if r.get("patternType", "literal") != "literal" or r.get("name") in ("*", None):
                    writers.setdefault("*", set()).add(u["metadata"]["name"])
    problems = []
    for var in ("TOPIC_TENANT_TOKENS", "TOPIC_POPUP_USERS"):
        extra = writers.get(topics_of.get(var), set()) | writers.get("*", set())
        extra -= {KAFKA_USER_PREFIX + "crmctl"}
        if extra:
            problems.append(f"{topics_of.get(var)} is writable by {', '.join(sorted(extra))}")
    if KAFKA_USER_PREFIX + "ingest" in writers.get(topics_of.get("TOPIC_POPUPS"), set()):
        problems.append("ingest may write popups")
    report(overlay, "only crmctl writes tenant tokens and popup users; ingest cannot forge popups",
           problems)

    # Each service's pods log in as its user over TLS.
    problems = []
    for o in workloads:
        svc = o["metadata"]["name"]
        if svc not in SERVICES:
            continue
        ps = pod_spec(o)
        c = ps["containers"][0]
        env = effective_env(c, configmaps)
        proto = str(env.get("KAFKA_SECURITY_PROTOCOL", "plaintext")).lower()
        if proto not in ("ssl", "sasl_ssl"):
            problems.append(f"{kn(o)}: KAFKA_SECURITY_PROTOCOL is {proto}, not ssl or sasl_ssl")
        if not str(env.get("KAFKA_BROKERS", "")).endswith(":9093"):
            problems.append(f"{kn(o)}: KAFKA_BROKERS {env.get('KAFKA_BROKERS')!r} is not the TLS "
                            "listener (9093)")
        if proto == "ssl":
            secrets = {v["name"]: v["secret"]["secretName"] for v in ps.get("volumes") or []
                       if "secret" in v}
            mounts = {m["mountPath"].rstrip("/"): m["name"] for m in c.get("volumeMounts") or []}
            for var in ("KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE"):
                path = str(env.get(var) or "")
                vol = mounts.get(path.rsplit("/", 1)[0])
                if secrets.get(vol) != KAFKA_USER_PREFIX + svc:
                    problems.append(f"{kn(o)}: {var} {path!r} is not in the Secret of KafkaUser "
                                    f"{KAFKA_USER_PREFIX + svc}")
            if not mounts.get(str(env.get("KAFKA_SSL_CA_FILE") or "").rsplit("/", 1)[0]):
                problems.append(f"{kn(o)}: KAFKA_SSL_CA_FILE is not on a mounted volume")
    report(overlay, "each service logs in to Kafka over TLS with its own KafkaUser's certificate",
           problems)

    brokers = {cm.get("KAFKA_BROKERS") for cm in configmaps.values() if cm.get("KAFKA_BROKERS")}
    problems = [f"{kn(u)}: cluster {u['metadata']['labels'].get('strimzi.io/cluster')} is not "
                f"the one in KAFKA_BROKERS ({b})" for u in users.values() for b in brokers
                if not b.startswith(f"{u['metadata']['labels'].get('strimzi.io/cluster')}"
                                    "-kafka-bootstrap.")]
    report(overlay, "KafkaUsers on the cluster of KAFKA_BROKERS", problems)


def check_migration(overlay, by_kind):
    problems = []
    jobs = [j for j in by_kind.get("Job", []) if any(
        "crmctl" in " ".join(c.get("command") or []) and "migrate" in (c.get("command") or []) + (c.get("args") or [])
        for c in pod_spec(j)["containers"])]
    if len(jobs) != 1:
        problems.append(f"{len(jobs)} Jobs run `crmctl migrate` (want 1)")
    writer = [o for o in by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
              if o["metadata"]["name"] == "crm-writer"]
    for j in jobs:
        for c in pod_spec(j)["containers"]:
            env = {e["name"]: e for e in c.get("env") or []}
            if "secretKeyRef" not in (env.get("PG_DSN", {}).get("valueFrom") or {}):
                problems.append(f"{kn(j)}: PG_DSN is not from a Secret")
            if writer and c["image"] != pod_spec(writer[0])["containers"][0]["image"]:
                problems.append(f"{kn(j)}: image {c['image']} is not crm-writer's")
        if pod_spec(j).get("restartPolicy") not in ("Never", "OnFailure"):
            problems.append(f"{kn(j)}: restartPolicy must be Never or OnFailure")
    report(overlay, "migration Job runs crmctl migrate from the crm-writer image", problems)


def check_namespace(overlay, objs, by_kind):
    problems = []
    ns = {o["metadata"]["name"]: o for o in by_kind.get("Namespace", [])}
    for o in objs:
        n = o["metadata"].get("namespace")
        if o["kind"] in ("Namespace",):
            continue
        if o["kind"] == "KafkaTopic":
            continue  # in the Kafka cluster's namespace
        if n not in ns:
            problems.append(f"{kn(o)}: namespace {n!r} is not created by the overlay")
    for n, o in ns.items():
        if (o["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            problems.append(f"Namespace/{n}: does not enforce the restricted Pod Security Standard")
    report(overlay, "every object in the overlay's namespace, which enforces Pod Security 'restricted'", problems)


def check_overlay(overlay, path, version, strimzi):
    try:
        objs = [o for o in yaml.safe_load_all(open(path, encoding="utf-8")) if o]
    except yaml.YAMLError as e:
        report(overlay, "rendered YAML parses", [str(e)])
        return
    if not objs:
        report(overlay, "renders objects", ["nothing rendered"])
        return
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o.get("kind"), []).append(o)
    configmaps = {o["metadata"]["name"]: {k: str(v) for k, v in (o.get("data") or {}).items()}
                  for o in by_kind.get("ConfigMap", [])}
    check_schemas(overlay, objs, version, strimzi)
    try:
        workloads = check_workloads(overlay, objs, by_kind, configmaps)
        check_network(overlay, by_kind, workloads)
        check_services_ingress(overlay, objs, by_kind, workloads)
        check_topics(overlay, by_kind, configmaps)
        check_edges(overlay, by_kind)
        check_kafka_users(overlay, by_kind, configmaps, workloads)
        check_migration(overlay, by_kind)
        check_namespace(overlay, objs, by_kind)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        report(overlay, "policy checks could read every object", [f"{type(e).__name__}: {e}"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strimzi-schema", default=str(HERE / "schemas" / "strimzi-kafkatopic.schema.json"))
    ap.add_argument("--strimzi-user-schema",
                    default=str(HERE / "schemas" / "strimzi-kafkauser.schema.json"))
    ap.add_argument("--k8s-version", default="1.30.0")
    ap.add_argument("rendered", nargs="+", help="NAME=FILE: a kustomize build output")
    a = ap.parse_args()
    global USER_SCHEMA
    strimzi = json.load(open(a.strimzi_schema, encoding="utf-8"))
    USER_SCHEMA = json.load(open(a.strimzi_user_schema, encoding="utf-8"))
    for arg in a.rendered:
        name, _, path = arg.partition("=")
        check_overlay(name, path, a.k8s_version, strimzi)
    print(f"manifests: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
