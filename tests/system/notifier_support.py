"""Helpers of the notifier system tests: popup tokens, popup messages, a notifier process and
a small Server-Sent Events client that sees the raw stream (ids, event names, the end)."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid

import harness
from harness import REPO, free_port  # noqa: F401


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def popup_token(key, tenant, user, ttl=3600, alg="HS256", exp=None):
    """An HS256 popup token as the CRM (crmctl popup-token) mints it, made independently here."""
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps({"tenant": tenant, "sub": str(user),
                              "exp": exp if exp is not None else int(time.time()) + ttl}).encode())
    sig = b64url(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def popup(tenant, user, call, action, state, **extra):
    """One crm.popups.v1 message (docs/architecture.md)."""
    msg = {
        "popup_id": f"{tenant}:{call}:{user}", "tenant": tenant, "user_id": user,
        "call_id": call, "action": action, "state": state, "event_id": str(uuid.uuid4()),
        "caller": {"number": "+79031112233", "formatted": "+7 (903) 111-22-33"},
        "virtual_number": {"number": "+74993482958", "formatted": "+7 (499) 348-29-58"},
        "counterparty": None, "responsible": None, "deal": None, "answered_by": None,
        "direction": "in", "ringing_at": "2024-05-01T10:00:00Z",
        "answered_at": None, "ended_at": None,
    }
    msg.update(extra)
    return msg


def build_dir():
    return harness.BUILD_DIR


class Notifier(harness.Service):
    """A notifier process with its own ports, stopped with SIGTERM."""

    def __init__(self, brokers, topic, secret_b64, log_path, **env):
        self.port = free_port()
        ops_port = free_port()
        super().__init__("notifier", harness.binary("notifier"), {
            **os.environ,
            "KAFKA_BROKERS": brokers, "TOPIC_POPUPS": topic, "POPUP_JWT_SECRET": secret_b64,
            "HTTP_PORT": str(self.port), "OPS_PORT": str(ops_port),
            "HEARTBEAT_S": "1", "LOG_LEVEL": "debug",
            # revocation is tested through the whole pipeline (test_pipeline.py)
            "TOPIC_POPUP_USERS": "",
            **{k: str(v) for k, v in env.items()},
        }, ops_port, log_path)

    def start(self, ready_timeout=30):
        return super().start(ready_timeout=ready_timeout)

    def stop(self, timeout=15):
        return super().stop(timeout=timeout)

    def received(self):
        """Popup messages the notifier has taken from Kafka, whatever their result."""
        return self.metric("notifier_popups_received_total")


def http_get(port, path, headers=None, timeout=5):
    """A plain HTTP/1.1 GET: (status, headers dict lower-cased, body) — for non-stream replies."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class SSE(harness.SSE):
    """harness.SSE; .events is the queue of events not taken yet."""

    @property
    def events(self):
        return self.queue


def new_secret():
    key = secrets.token_bytes(32)
    return key, base64.b64encode(key).decode()


def make_topic(brokers, partitions=3):
    """A fresh popup topic of this test session; returns (name, admin) for deletion."""
    from confluent_kafka.admin import AdminClient, NewTopic
    name = f"notifier-test-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(30)
    return name, admin


def make_producer(brokers):
    import logging
    from confluent_kafka import Producer
    quiet = logging.getLogger("notifier-test-kafka")
    quiet.setLevel(logging.CRITICAL)
    return Producer({"bootstrap.servers": brokers, "acks": "all",
                     "message.timeout.ms": 20000, "logger": quiet})


def produce(producer, topic, msgs):
    """Produce in order (one call's messages keep their order); return the SSE id
    ("partition-offset") of each message."""
    ids = [None] * len(msgs)

    def done(i):
        def cb(err, m):
            assert err is None, err
            ids[i] = f"{m.partition()}-{m.offset()}"
        return cb

    for i, m in enumerate(msgs):
        producer.produce(topic, key=f"{m['tenant']}:{m['call_id']}", value=json.dumps(m),
                         on_delivery=done(i))
        producer.flush(20)
    assert None not in ids, "not all popup messages were acknowledged"
    return ids
