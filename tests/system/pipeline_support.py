"""Helpers that system tests share: running a service binary, minting webhook tokens the way
crmctl does (an independent Python implementation: it cross-checks the C one), and reading
topics."""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
import uuid

import requests

import harness
from harness import ARTIFACTS, BUILD_DIR, REPO, free_port  # noqa: F401

TEST_KEY_ID = "t1"
TEST_KEY = b"0123456789abcdef0123456789abcdef"
TEST_KEYS = f"{TEST_KEY_ID}:{base64.b64encode(TEST_KEY).decode()}"


def mint_token(tenant, version, kid=TEST_KEY_ID, key=TEST_KEY):
    msg = b"uis-webhook\0" + tenant.encode() + b"\0" + str(version).encode()
    mac = hmac.new(key, msg, hashlib.sha256).digest()
    return f"{kid}.{version}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


class Service(harness.Service):
    """A service binary (name: ingest, router, notifier, crm-writer or crm-writer-<suffix>)
    started with the test's environment over os.environ; stopped with SIGTERM."""

    def __init__(self, name, env, args=(), ops_port=None):
        ops_port = ops_port or free_port()
        binary = harness.binary("crm-writer" if name.startswith("crm-writer")
                                else name.split("-")[0])
        super().__init__(name, binary, {**os.environ, "LOG_LEVEL": "info", **env,
                                        "OPS_PORT": str(ops_port)},
                         ops_port, ARTIFACTS / f"{name}-{uuid.uuid4().hex[:6]}.log")
        self._args = list(args)

    def args(self):
        return self._args

    def start(self, ready_timeout=30, want_ready=True):
        return super().start(wait_ready=want_ready, ready_timeout=ready_timeout)

    def ops(self, path):
        return requests.get(f"http://127.0.0.1:{self.ops_port}{path}", timeout=2)

    def wait_ready(self, timeout=30):
        super().wait_ready(timeout)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        return super().stop(sig, timeout, must_obey=True)

    def logs(self):
        return super().logs()[-4000:]


def publish_token_version(brokers, topic, tenant, version, kid=TEST_KEY_ID):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": brokers, "acks": "all"})
    p.produce(topic, key=tenant.encode(),
              value=json.dumps({"tenant": tenant, "token_version": version, "key_id": kid}))
    assert p.flush(15) == 0


def consume(brokers, topic, count, timeout=20, group=None):
    """Read `count` messages from the beginning of topic (fewer if timeout passes)."""
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": brokers, "group.id": group or f"t-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    c.subscribe([topic])
    out = []
    deadline = time.time() + timeout
    try:
        while len(out) < count and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append({
                "key": m.key().decode() if m.key() else None,
                "value": json.loads(m.value()) if m.value() else None,
                "headers": {k: v.decode() for k, v in (m.headers() or [])},
                "partition": m.partition(),
                "offset": m.offset(),
            })
    finally:
        c.close()
    return out


def stack_script(function):
    """Run one function of deploy/local/lib.sh (e.g. stack_kafka_down) on the shared stack."""
    subprocess.run(["bash", "-c", f"source '{REPO}/deploy/local/env.sh' && source '{REPO}/deploy/local/lib.sh' && {function}"],
                   check=True, cwd=REPO, capture_output=True)


def kafka_conf(brokers, **extra):
    """A client configuration for brokers with the Kafka security variables of the environment
    (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*), as the services read them."""
    import sys

    sys.path.insert(0, str(REPO / "deploy" / "local"))
    from kafka_admin import security_conf

    return {"bootstrap.servers": brokers, **security_conf(), **extra}


@contextlib.contextmanager
def own_topics(brokers, name_prefix=""):
    """Yields new_topic(prefix, partitions=3, config=None) -> the name of a topic made for the
    caller (unique, replication 1); every topic it made is deleted on exit (best effort)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(kafka_conf(brokers))
    made = []

    def new_topic(prefix="test", partitions=3, config=None):
        name = f"{name_prefix}{prefix}.{uuid.uuid4().hex[:12]}"
        admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name] \
            .result(30)
        made.append(name)
        return name

    try:
        yield new_topic
    finally:
        if made:
            for fut in admin.delete_topics(made, operation_timeout=30).values():
                try:
                    fut.result(30)
                except Exception:  # noqa: BLE001 - cleanup is best effort
                    pass
