"""What each Kafka user of the product may do, in one place: deploy/local/kafka_admin.py grants
it on the local secured broker, tests/k8s/check_manifests.py holds the Strimzi KafkaUsers of
deploy/k8s to it. Topics are named by the variable that configures them (env.sh,
pipeline-config); consumer groups by prefix (the service's name).

Ingest cannot write popups; only crmctl writes the tenant-token and popup-user topics (and, for
`crmctl dlq replay`, the three topics dead letters go back to)."""

ACLS = {
    "ingest": {"write": ["TOPIC_CALL_EVENTS", "TOPIC_REJECTED"],
               "read": ["TOPIC_TENANT_TOKENS"], "groups": ["ingest"]},
    "router": {"write": ["TOPIC_ACTIONS", "TOPIC_POPUPS", "TOPIC_DLQ"],
               "read": ["TOPIC_CALL_EVENTS"], "groups": ["router"]},
    "crm-writer": {"write": ["TOPIC_CONTACTS", "TOPIC_DLQ"],
                   "read": ["TOPIC_ACTIONS"], "groups": ["crm-writer"]},
    "notifier": {"write": ["TOPIC_CALL_REQUESTS", "TOPIC_DLQ"],
                 "read": ["TOPIC_POPUPS", "TOPIC_POPUP_USERS", "TOPIC_DIAL_READINESS",
                          "TOPIC_CALL_REQUESTS"],
                 "groups": ["notifier"]},
    # The reconciler's events and its dialer (click-to-call): requests in, outcomes as popups.
    "reconciler": {"write": ["TOPIC_CALL_EVENTS", "TOPIC_POPUPS", "TOPIC_DLQ",
                             "TOPIC_DIAL_READINESS"],
                   "read": ["TOPIC_CALL_REQUESTS"], "groups": ["dialer"]},
    "crmctl": {"write": ["TOPIC_TENANT_TOKENS", "TOPIC_POPUP_USERS", "TOPIC_CALL_EVENTS",
                         "TOPIC_ACTIONS", "TOPIC_POPUPS", "TOPIC_DIAL_READINESS"],
               "read": ["TOPIC_DLQ"], "groups": ["crmctl"]},
}

# The operations a right needs on a topic (Describe: metadata, offsets).
OPERATIONS = {"write": ("Write", "Describe"), "read": ("Read", "Describe")}
