#!/usr/bin/env python3
"""Deliberate breakages, one at a time, that tests/k8s/validate.sh must catch.

Usage: mutations.py list            → the names, one a line
       mutations.py apply NAME DIR  → breaks the copy of the repository's deploy/ and .dockerignore
                                      in DIR; exits 2 when the text to break is no longer there
                                      (the mutation went stale: update it with the manifests).
Each mutation is (name, kind, file under DIR, old text, new text); kind says what must fail:
"k8s" the render + manifest check, "docker" the Dockerfile check, "monitoring"
tests/k8s/check_monitoring.py.
"""
import sys

MUTATIONS = [
    ("schema: a misspelt field", "k8s", "deploy/k8s/base/app/router.yaml",
     "          readinessProbe:", "          readinesProbe:"),
    ("schema: a port given as text", "k8s", "deploy/k8s/base/app/ingest.yaml",
     "              containerPort: 8080", "              containerPort: \"8080\""),
    ("strimzi schema: a KafkaTopic without its cluster label", "k8s", "deploy/k8s/base/topics/topics.yaml",
     "  name: crm-popups-v1\n  labels:\n    strimzi.io/cluster: uis-kafka\n", "  name: crm-popups-v1\n"),
    ("strimzi schema: an unknown field in a KafkaTopic spec", "k8s", "deploy/k8s/base/topics/topics.yaml",
     "  topicName: crm.contacts.v1\n", "  topicName: crm.contacts.v1\n  retention: 7d\n"),
    ("render: a kustomization names a missing file", "k8s", "deploy/k8s/base/app/kustomization.yaml",
     "  - ingress.yaml\n", "  - ingress.yaml\n  - missing.yaml\n"),
    ("probes: no liveness probe", "k8s", "deploy/k8s/base/app/ingest.yaml",
     "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: ops\n"
     "            periodSeconds: 10\n            timeoutSeconds: 2\n            failureThreshold: 3\n", ""),
    ("probes: readiness on /healthz", "k8s", "deploy/k8s/base/app/crm-writer.yaml",
     "              path: /readyz", "              path: /healthz"),
    ("security: root allowed", "k8s", "deploy/k8s/base/app/notifier.yaml",
     "          securityContext:\n            runAsNonRoot: true\n",
     "          securityContext:\n            runAsNonRoot: false\n"),
    ("security: writable root filesystem", "k8s", "deploy/k8s/base/app/router.yaml",
     "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"),
    ("security: privilege escalation", "k8s", "deploy/k8s/base/app/migrate-job.yaml",
     "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"),
    ("resources: no memory limit", "k8s", "deploy/k8s/base/app/ingest.yaml",
     "              cpu: \"1\"\n              memory: 256Mi\n", "              cpu: \"1\"\n"),
    ("secrets: a key inlined as a value", "k8s", "deploy/k8s/base/app/ingest.yaml",
     "            - name: WEBHOOK_KEYS\n              valueFrom:\n                secretKeyRef:\n"
     "                  name: ingest-webhook-keys\n                  key: WEBHOOK_KEYS\n",
     "            - name: WEBHOOK_KEYS\n              value: \"k1:c2VjcmV0\"\n"),
    ("secrets: a DSN in a ConfigMap", "k8s", "deploy/k8s/base/app/kustomization.yaml",
     "      - LOG_LEVEL=info\n", "      - LOG_LEVEL=info\n      - PG_DSN=postgresql://crm:crm@db/crm\n"),
    ("images: latest", "k8s", "deploy/k8s/overlays/prod/app/kustomization.yaml",
     "    newName: registry.example.com/uis-crm/router\n    newTag: \"0.1.0\"",
     "    newName: registry.example.com/uis-crm/router\n    newTag: latest"),
    ("disruption: the notifier's PodDisruptionBudget removed", "k8s", "deploy/k8s/base/app/notifier.yaml",
     "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: notifier\nspec:\n"
     "  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: notifier\n---\n", ""),
    ("shutdown: grace period shorter than the drain", "k8s", "deploy/k8s/base/app/ingest.yaml",
     "terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 10"),
    ("membership: INSTANCE_ID not the pod name", "k8s", "deploy/k8s/base/app/router.yaml",
     "                  fieldPath: metadata.name", "                  fieldPath: metadata.uid"),
    ("autoscaling: crm-writer beyond the partitions", "k8s", "deploy/k8s/overlays/dev/app/kustomization.yaml",
     "        path: /spec/maxReplicas\n        value: 3\n", "        path: /spec/maxReplicas\n        value: 6\n"),
    ("network: ingest may reach PostgreSQL", "k8s", "deploy/k8s/base/app/networkpolicies.yaml",
     "        values: [\"router\", \"crm-writer\", \"crm-migrate\", \"reconciler\"]",
     "        values: [\"router\", \"crm-writer\", \"crm-migrate\", \"reconciler\", \"ingest\"]"),
    ("network: the default deny lets ingress in (the migration pod has no other policy)", "k8s", "deploy/k8s/base/app/networkpolicies.yaml",
     "  name: default-deny\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/part-of: uis-crm\n"
     "  policyTypes: [\"Ingress\", \"Egress\"]\n",
     "  name: default-deny\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/part-of: uis-crm\n"
     "  policyTypes: [\"Egress\"]\n"),
    ("ingress: SSE buffered", "k8s", "deploy/k8s/base/app/ingress.yaml",
     "proxy-buffering: \"off\"", "proxy-buffering: \"on\""),
    ("topics: tenant tokens not compacted", "k8s", "deploy/k8s/base/topics/topics.yaml",
     "  topicName: crm.tenant-tokens.v1\n  partitions: 3\n  replicas: 3\n  config:\n"
     "    cleanup.policy: \"compact\"",
     "  topicName: crm.tenant-tokens.v1\n  partitions: 3\n  replicas: 3\n  config:\n"
     "    cleanup.policy: \"delete\""),
    ("topics: popup users not compacted", "k8s", "deploy/k8s/base/topics/topics.yaml",
     "  topicName: crm.popup-users.v1\n  partitions: 3\n  replicas: 3\n  config:\n"
     "    cleanup.policy: \"compact\"",
     "  topicName: crm.popup-users.v1\n  partitions: 3\n  replicas: 3\n  config:\n"
     "    cleanup.policy: \"delete\""),
    ("acl: ingest may write the tenant tokens (a tombstone would void every webhook)", "k8s",
     "deploy/k8s/base/app/kafka-users.yaml",
     "          name: crm.tenant-tokens.v1\n          patternType: literal\n"
     "        operations: [Read, Describe]",
     "          name: crm.tenant-tokens.v1\n          patternType: literal\n"
     "        operations: [Read, Write, Describe]"),
    ("acl: ingest may write every topic", "k8s", "deploy/k8s/base/app/kafka-users.yaml",
     "          name: uis.call-events.rejected.v1\n          patternType: literal\n",
     "          name: uis.\n          patternType: prefix\n"),
    ("acl: the notifier without its user's certificate", "k8s", "deploy/k8s/base/app/notifier.yaml",
     "            secretName: uis-crm-notifier", "            secretName: uis-crm-router"),
    ("strimzi schema: a misspelt field in a KafkaUser", "k8s", "deploy/k8s/base/app/kafka-users.yaml",
     "    app.kubernetes.io/name: router\nspec:\n  authentication:",
     "    app.kubernetes.io/name: router\nspec:\n  authentification:"),
    ("kafka: plaintext to the brokers", "k8s", "deploy/k8s/base/app/kustomization.yaml",
     "      - KAFKA_SECURITY_PROTOCOL=ssl\n", "      - KAFKA_SECURITY_PROTOCOL=plaintext\n"),
    ("topics: two replicas", "k8s", "deploy/k8s/base/topics/topics.yaml",
     "  topicName: uis.call-events.v1\n  partitions: 12\n  replicas: 3\n",
     "  topicName: uis.call-events.v1\n  partitions: 12\n  replicas: 2\n"),
    ("topics: a configured topic without KafkaTopic", "k8s", "deploy/k8s/base/app/kustomization.yaml",
     "      - TOPIC_DLQ=pipeline.dead-letter.v1", "      - TOPIC_DLQ=pipeline.dead-letter.v2"),
    ("migration: the Job's image is not crm-writer's", "k8s", "deploy/k8s/base/app/migrate-job.yaml",
     "          image: uis-crm/crm-writer", "          image: uis-crm/router"),
    ("docker: a HEALTHCHECK", "docker", "deploy/docker/Dockerfile",
     "FROM scratch AS router\n", "FROM scratch AS router\nHEALTHCHECK CMD [\"/usr/local/bin/router\", \"--help\"]\n"),
    ("docker: runs as root", "docker", "deploy/docker/Dockerfile",
     "FROM scratch AS notifier\nCOPY --from=rootfs /rootfs/notifier/ /\nUSER 10001:10001",
     "FROM scratch AS notifier\nCOPY --from=rootfs /rootfs/notifier/ /\nUSER 0:0"),
    ("docker: unpinned base", "docker", "deploy/docker/Dockerfile",
     "ARG DEBIAN_BASE=debian:bookworm-20251229-slim", "ARG DEBIAN_BASE=debian:bookworm-slim"),
    ("docker: shell-form entrypoint", "docker", "deploy/docker/Dockerfile",
     "ENTRYPOINT [\"/usr/local/bin/ingest\"]", "ENTRYPOINT /usr/local/bin/ingest"),
    ("docker (built): libpq5 missing from the runtime packages", "docker-built", "deploy/docker/Dockerfile",
     "librdkafka1 libjansson4 libmicrohttpd12 libpq5 libssl3", "librdkafka1 libjansson4 libmicrohttpd12 libssl3"),
    ("docker (built): a superfluous runtime package", "docker-built", "deploy/docker/Dockerfile",
     "libcurl4 ca-certificates\"", "libcurl4 libxml2 ca-certificates\""),
    # monitoring (issue 20): tests/k8s/check_monitoring.py must catch these
    ("alerts: the 503 share threshold loosened", "monitoring", "deploy/k8s/monitoring/prometheusrule.yaml",
     "/ sum by (namespace) (rate(ingest_requests_total[5m])) > 0.01\n",
     "/ sum by (namespace) (rate(ingest_requests_total[5m])) > 0.05\n"),
    ("alerts: a new dead-letter series missed", "monitoring", "deploy/k8s/monitoring/prometheusrule.yaml",
     "              or sum by (namespace, job) (router_dlq_total unless router_dlq_total offset 15m) > 0\n", ""),
    ("alerts: a PromQL syntax error", "monitoring", "deploy/k8s/monitoring/prometheusrule.yaml",
     "expr: max by (namespace, pod) (notifier_connections) > 18000",
     "expr: max by (namespace, pod) (notifier_connections > 18000"),
    ("alerts: a runbook anchor docs/operations.md lacks", "monitoring",
     "deploy/k8s/monitoring/prometheusrule.yaml", "operations.md#target-down", "operations.md#targets-down"),
    ("podmonitor: a port the pods do not have", "monitoring", "deploy/k8s/monitoring/podmonitors.yaml",
     "      app.kubernetes.io/name: notifier\n  podMetricsEndpoints:\n    - port: ops\n",
     "      app.kubernetes.io/name: notifier\n  podMetricsEndpoints:\n    - port: metrics\n"),
    ("podmonitor: an unknown field", "monitoring", "deploy/k8s/monitoring/podmonitors.yaml",
     "      app.kubernetes.io/name: ingest\n  podMetricsEndpoints:\n    - port: ops\n",
     "      app.kubernetes.io/name: ingest\n  podMetricsEndpoints:\n    - port: ops\n      scrapeEvery: 30s\n"),
    ("dashboard: a panel without a query", "monitoring", "deploy/k8s/monitoring/dashboards/uis-crm-pipeline.json",
     '"expr": "sum(rate(router_no_open_deal_total{namespace=\\"$namespace\\"}[$__rate_interval]))"', '"expr": ""'),
    ("dashboard: the router row gone", "monitoring", "deploy/k8s/monitoring/dashboards/uis-crm-pipeline.json",
     '"title": "router"', '"title": "routing"'),
]

def main():
    if sys.argv[1:2] == ["list"]:
        for name, kind, *_ in MUTATIONS:
            print(f"{kind}\t{name}")
        return 0
    if len(sys.argv) != 4 or sys.argv[1] != "apply":
        print(__doc__, file=sys.stderr)
        return 2
    name, root = sys.argv[2], sys.argv[3]
    for mname, _, path, old, new in MUTATIONS:
        if mname != name:
            continue
        full = f"{root}/{path}"
        text = open(full, encoding="utf-8").read()
        if text.count(old) != 1:
            print(f"mutation {name!r}: the text to break occurs {text.count(old)} times in {path}",
                  file=sys.stderr)
            return 2
        open(full, "w", encoding="utf-8").write(text.replace(old, new))
        return 0
    print(f"no mutation named {name!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
