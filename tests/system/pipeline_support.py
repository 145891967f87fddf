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
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("BUILD_DIR", REPO / "build"))
ARTIFACTS = REPO / "tests" / "artifacts"

TEST_KEY_ID = "t1"
TEST_KEY = b"0123456789abcdef0123456789abcdef"
TEST_KEYS = f"{TEST_KEY_ID}:{base64.b64encode(TEST_KEY).decode()}"


def mint_token(tenant, version, kid=TEST_KEY_ID, key=TEST_KEY):
    msg = b"uis-webhook\0" + tenant.encode() + b"\0" + str(version).encode()
    mac = hmac.new(key, msg, hashlib.sha256).digest()
    return f"{kid}.{version}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A service binary started with its own environment; stopped with SIGTERM."""

    def __init__(self, name, env, args=(), ops_port=None):
        self.name = name
        self.ops_port = ops_port or free_port()
        self.env = dict(os.environ, LOG_LEVEL="info")
        self.env.update(env)
        self.env["OPS_PORT"] = str(self.ops_port)
        self.args = list(args)
        self.proc = None
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}-{uuid.uuid4().hex[:6]}.log"

    def start(self, ready_timeout=30, want_ready=True):
        binary = BUILD_DIR / self.name.split("-")[0] / self.name.split("-")[0]
        if self.name.startswith("crm-writer"):
            binary = BUILD_DIR / "crm-writer" / "crm-writer"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(binary), *self.args], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if want_ready:
            self.wait_ready(ready_timeout)
        return self

    def ops(self, path):
        return requests.get(f"http://127.0.0.1:{self.ops_port}{path}", timeout=2)

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.logs()}")
            try:
                if self.ops("/readyz").status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready in {timeout}s:\n{self.logs()}")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} ignored {sig!r} for {timeout}s")
        if getattr(self, "log", None):
            self.log.close()
        return self.proc.returncode if self.proc else None

    def logs(self):
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


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
