#!/usr/bin/env python3
"""Small Kafka admin helper for deploy/local (uses confluent-kafka).

  kafka_admin.py wait [--timeout S] [--pid PID]   wait until the broker answers metadata
  kafka_admin.py topics                           create the topics of SPEC section 7 (idempotent)
  kafka_admin.py ping                             exit 0 if the broker answers now

Reads KAFKA_BROKERS, TOPIC_* and TOPIC_PARTITIONS from the environment (see env.sh).
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
}
COMMON = {"min.insync.replicas": 1}


def admin():
    return AdminClient({
        "bootstrap.servers": os.environ.get("KAFKA_BROKERS", "127.0.0.1:19092"),
        "log_level": 0,  # connection-refused noise while the broker starts
        "error_cb": lambda _err: None,
    })


def answers(client, timeout=2.0):
    try:
        md = client.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(md.brokers) and md.controller_id >= 0


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
        if answers(client):
            return 0
        if args.pid and not pid_alive(args.pid):
            print(f"broker process {args.pid} exited", file=sys.stderr)
            return 2
        time.sleep(0.5)
    print(f"broker did not answer metadata within {args.timeout}s", file=sys.stderr)
    return 1


def cmd_ping(_args):
    return 0 if answers(admin(), timeout=3.0) else 1


def cmd_topics(_args):
    client = admin()
    partitions = int(os.environ.get("TOPIC_PARTITIONS", "6"))
    wanted = {}
    for var, config in TOPICS.items():
        name = os.environ.get(var)
        if not name:
            sys.exit(f"{var} is not set (source deploy/local/env.sh)")
        conf = {k: str(v) for k, v in {**COMMON, **config}.items()}
        wanted[name] = NewTopic(name, num_partitions=partitions, replication_factor=1,
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


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    wait = sub.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=60)
    wait.add_argument("--pid", type=int, default=0)
    sub.add_parser("ping")
    sub.add_parser("topics")
    args = parser.parse_args()
    return {"wait": cmd_wait, "ping": cmd_ping, "topics": cmd_topics}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
