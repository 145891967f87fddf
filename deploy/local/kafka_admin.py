#!/usr/bin/env python3
"""Small Kafka admin helper for deploy/local (uses confluent-kafka).

  kafka_admin.py wait [--timeout S] [--pid PID] [--brokers N]   wait until N brokers answer
  kafka_admin.py topics                           create the topics of SPEC section 7 (idempotent)
  kafka_admin.py ping [--brokers N]               exit 0 if N brokers answer now
  kafka_admin.py users                            (KAFKA_SECURITY mtls or sasl_ssl) ACLs for
                                                  each service's own topics and groups (and
                                                  with sasl_ssl its SCRAM user)

Reads KAFKA_BROKERS, KAFKA_NODES, TOPIC_* and TOPIC_PARTITIONS from the environment (see env.sh),
and the Kafka security variables every service takes (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*,
KAFKA_SSL_*: common/kafka_security.h). With KAFKA_NODES >= 3 the topics are replicated 3 times
with min.insync.replicas=2.
"""
import argparse
import os
import sys
import time

try:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:
    sys.exit("python module confluent_kafka is missing: run deploy/local/install-deps "
             "(or pip install confluent-kafka)")

DAY_MS = 24 * 3600 * 1000

# env var with the topic name -> topic config (partitions come from TOPIC_PARTITIONS).
TOPICS = {
    "TOPIC_CALL_EVENTS": {"retention.ms": 7 * DAY_MS},
    "TOPIC_REJECTED": {"retention.ms": 14 * DAY_MS},
    "TOPIC_ACTIONS": {"retention.ms": 7 * DAY_MS},
    "TOPIC_POPUPS": {"retention.ms": 1 * DAY_MS},
    "TOPIC_DLQ": {"retention.ms": 14 * DAY_MS},
    "TOPIC_CONTACTS": {"retention.ms": 7 * DAY_MS},
    # Click-to-call requests (issue 18): worth nothing after a minute; a day for the inquiry.
    "TOPIC_CALL_REQUESTS": {"retention.ms": 1 * DAY_MS},
    # Each tenant's current webhook token version: compacted, kept forever; short segments so
    # the cleaner can act locally.
    "TOPIC_TENANT_TOKENS": {"cleanup.policy": "compact", "segment.ms": 3600 * 1000,
                         "min.compaction.lag.ms": 60 * 1000,
                         "delete.retention.ms": 1 * DAY_MS},
    # Each user's popup token revocation (crmctl user disable / revoke-tokens): compacted, kept
    # forever (the notifier rebuilds its table from it at start).
    "TOPIC_POPUP_USERS": {"cleanup.policy": "compact", "segment.ms": 3600 * 1000,
                          "min.compaction.lag.ms": 60 * 1000,
                          "delete.retention.ms": 1 * DAY_MS},
    # Each tenant's UIS key and each user's UIS link as the notifier checks them (issue 18):
    # compacted, kept forever; crmctl and the reconciler republish it.
    "TOPIC_DIAL_READINESS": {"cleanup.policy": "compact", "segment.ms": 3600 * 1000,
                             "min.compaction.lag.ms": 60 * 1000,
                             "delete.retention.ms": 1 * DAY_MS},
}
NODES = int(os.environ.get("KAFKA_NODES", "1"))
REPLICAS = min(NODES, 3)
COMMON = {"min.insync.replicas": 2 if REPLICAS >= 3 else 1}


def security_conf(env=None):
    """The confluent-kafka (librdkafka) settings of the Kafka security variables the services
    take (common/kafka_security.c reads the same ones); {} for plaintext."""
    env = os.environ if env is None else env
    proto = env.get("KAFKA_SECURITY_PROTOCOL") or "plaintext"
    conf = {"security.protocol": proto}
    if proto.lower().startswith("sasl_"):
        password = env.get("KAFKA_SASL_PASSWORD")
        if env.get("KAFKA_SASL_PASSWORD_FILE"):
            with open(env["KAFKA_SASL_PASSWORD_FILE"], encoding="utf-8") as f:
                password = f.read().rstrip("\r\n")
        conf.update({"sasl.mechanisms": env.get("KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512",
                     "sasl.username": env.get("KAFKA_SASL_USERNAME", ""),
                     "sasl.password": password or ""})
    if proto.lower() in ("ssl", "sasl_ssl"):
        for var, key in (("KAFKA_SSL_CA_FILE", "ssl.ca.location"),
                         ("KAFKA_SSL_CERT_FILE", "ssl.certificate.location"),
                         ("KAFKA_SSL_KEY_FILE", "ssl.key.location")):
            if env.get(var):
                conf[key] = env[var]
    return conf


def admin():
    return AdminClient({
        "bootstrap.servers": os.environ.get("KAFKA_BROKERS", "127.0.0.1:19092"),
        "log_level": 0,  # connection-refused noise while the broker starts
        "error_cb": lambda _err: None,
        **security_conf(),
    })


def answers(client, timeout=2.0, brokers=1):
    try:
        md = client.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return len(md.brokers) >= brokers and md.controller_id >= 0


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_wait(args):
    client = admin()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if answers(client, brokers=args.brokers):
            return 0
        if args.pid and not pid_alive(args.pid):
            print(f"broker process {args.pid} exited", file=sys.stderr)
            return 2
        time.sleep(0.5)
    print(f"broker did not answer metadata within {args.timeout}s", file=sys.stderr)
    return 1


def cmd_ping(args):
    return 0 if answers(admin(), timeout=3.0, brokers=args.brokers) else 1


def cmd_topics(_args):
    client = admin()
    partitions = int(os.environ.get("TOPIC_PARTITIONS", "6"))
    wanted = {}
    for var, config in TOPICS.items():
        name = os.environ.get(var)
        if not name:
            sys.exit(f"{var} is not set (source deploy/local/env.sh)")
        conf = {k: str(v) for k, v in {**COMMON, **config}.items()}
        wanted[name] = NewTopic(name, num_partitions=partitions, replication_factor=REPLICAS,
                                config=conf)

    existing = client.list_topics(timeout=10).topics
    todo = [t for n, t in wanted.items() if n not in existing]
    for name in wanted:
        if name in existing and len(existing[name].partitions) != partitions:
            print(f"note: topic {name} exists with {len(existing[name].partitions)} "
                  f"partitions (wanted {partitions}); left as is", file=sys.stderr)

    failed = False
    for attempt in range(10):
        if not todo:
            break
        retry = []
        for name, fut in client.create_topics(todo, request_timeout=15).items():
            try:
                fut.result()
                print(f"created topic {name}")
            except KafkaException as exc:
                err = exc.args[0]
                if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if err.retriable() and attempt < 9:
                    retry.append(wanted[name])
                    continue
                print(f"cannot create topic {name}: {err}", file=sys.stderr)
                failed = True
        todo = retry
        if todo:
            time.sleep(1)
    return 1 if failed or todo else 0


def cmd_users(_args):
    from kafka_acls import ACLS
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType,
                                       ResourcePatternType, ResourceType, ScramCredentialInfo,
                                       ScramMechanism, UserScramCredentialUpsertion)

    users_dir = os.environ["KAFKA_USERS_DIR"]
    client = admin()
    if os.environ.get("KAFKA_SECURITY") == "sasl_ssl":  # mtls: the certificate names the user
        upserts = []
        for user in ACLS:
            with open(os.path.join(users_dir, f"{user}.password"), encoding="utf-8") as f:
                password = f.read().strip().encode()
            upserts.append(UserScramCredentialUpsertion(
                user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password))
        for fut in client.alter_user_scram_credentials(upserts).values():
            fut.result()
    bindings, seen = [], {}
    for user, acl in ACLS.items():
        principal = f"User:{user}"
        for kind, ops in (("write", (AclOperation.WRITE, AclOperation.DESCRIBE)),
                          ("read", (AclOperation.READ, AclOperation.DESCRIBE))):
            for var in acl[kind]:
                for op in ops:
                    # A user that both reads and writes a topic needs its Describe once: the
                    # admin API refuses a request that names one binding twice.
                    if (var, op) in seen.setdefault(user, set()):
                        continue
                    seen[user].add((var, op))
                    bindings.append(AclBinding(ResourceType.TOPIC, os.environ[var],
                                               ResourcePatternType.LITERAL, principal, "*", op,
                                               AclPermissionType.ALLOW))
        for prefix in acl["groups"]:
            bindings.append(AclBinding(ResourceType.GROUP, prefix, ResourcePatternType.PREFIXED,
                                       principal, "*", AclOperation.READ,
                                       AclPermissionType.ALLOW))
    for fut in client.create_acls(bindings).values():
        fut.result()
    print(f"kafka users {', '.join(ACLS)} with {len(bindings)} ACLs")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    wait = sub.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=60)
    wait.add_argument("--pid", type=int, default=0)
    wait.add_argument("--brokers", type=int, default=1)
    ping = sub.add_parser("ping")
    ping.add_argument("--brokers", type=int, default=1)
    sub.add_parser("topics")
    sub.add_parser("users")
    args = parser.parse_args()
    return {"wait": cmd_wait, "ping": cmd_ping, "topics": cmd_topics,
            "users": cmd_users}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
