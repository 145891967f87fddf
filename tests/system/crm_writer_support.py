"""Helpers of the crm-writer system tests: crmctl, writer processes, actions, polling."""
import base64
import json
import os
import subprocess
import time
import uuid

import psycopg
from confluent_kafka import Consumer, Producer

import harness
from harness import BUILD_DIR, CRMCTL, REPO, TIMEOUT, free_port, wait_until  # noqa: F401

CRM_WRITER = harness.binary("crm-writer")


def validator(topic):
    """A JSON Schema validator of proto/schemas/<topic>.schema.json."""
    from jsonschema import Draft202012Validator
    schema = json.loads((REPO / "proto" / "schemas" / f"{topic}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def uid(prefix="crmw"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def base_env(stack, **extra):
    keys = "crmwk1:" + base64.b64encode(b"crm-writer-system-test-key-0001").decode()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PG_DSN": stack["pg_dsn"],
        "KAFKA_BROKERS": stack["brokers"],
        "WEBHOOK_KEYS": keys,
        "WEBHOOK_KEY_ID": "crmwk1",
        "PUBLIC_WEBHOOK_BASE": "https://hooks.example.test/",
        "POPUP_JWT_SECRET": base64.b64encode(b"popup-secret-for-crm-writer-tests").decode(),
        "LOG_LEVEL": "info",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def crmctl(stack, *args, check=True, **env):
    # the tests read the addresses and tokens crmctl prints: not a terminal
    proc = subprocess.run([str(CRMCTL), "--show-secret", *map(str, args)],
                          env=base_env(stack, **env),
                          capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"crmctl {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def pg(stack):
    return psycopg.connect(stack["pg_dsn"], autocommit=True, connect_timeout=10)


def query(stack, sql, *params):
    with pg(stack) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


class Tenant(harness.Tenant):
    """A fresh tenant with two users (employees), an extension, one known counterparty with an
    open deal."""

    def __init__(self, stack, prefix="crmw"):
        super().__init__(uid(prefix), lambda *args: crmctl(
            stack, *args, TOPIC_TENANT_TOKENS="crmw.test-tokens").stdout)
        self.stack = stack
        self.install()
        self.anna = self.user("anna", "Анна", ext="101")
        self.ivan = self.user("ivan", "Иван")
        self.employees("anna", "ivan")
        self.known_phone = "+7903" + str(uuid.uuid4().int)[:7]
        self.known = self.counterparty("ООО Ромашка", work=self.known_phone,
                                       responsible="ivan")
        # The tests know the open deal's id as .deal (the instance attribute hides the method).
        self.deal = self.deal(self.known, "Поставка", last_activity="2020-01-01T00:00:00Z")


def ts(second):
    """A fixed RFC 3339 time some seconds after a base."""
    base = 1_790_000_000 + second
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base)) + "Z"


def envelope(tenant, call_id, typ, event_id, occurred_at):
    return {"type": typ, "action_id": f"{tenant}:{call_id}:{typ}:{event_id}", "tenant": tenant,
            "call_id": str(call_id), "event_id": event_id, "occurred_at": occurred_at}


def cp_create(phone, responsible=None):
    return {"mode": "create", "phone": phone, "phone_raw": phone[1:],
            "name": phone, "responsible_user_id": responsible}


def contact(tenant, call_id, state, event_id, *, caller, counterparty, ringing_at=None,
            answered_at=None, ended_at=None, answered_by=None, urls=(), direction="in",
            virtual="+74993482958"):
    occurred = ended_at or answered_at or ringing_at or ts(0)
    a = envelope(tenant, call_id, "contact.upsert", event_id, occurred)
    a.update({"direction": direction, "caller": caller, "caller_raw": caller[1:] if caller else "",
              "virtual_number": virtual, "state": state, "answered_by": answered_by,
              "ringing_at": ringing_at, "answered_at": answered_at, "ended_at": ended_at,
              "record_urls": list(urls), "counterparty": counterparty})
    return a


def history(tenant, call_id, deal_id, event_id, occurred_at, *, phone, user_id=None,
            duration_s=None, urls=()):
    a = envelope(tenant, call_id, "deal.history.add", event_id, occurred_at)
    a.update({"deal_id": deal_id, "direction": "in", "phone": phone, "user_id": user_id,
              "duration_s": duration_s, "record_urls": list(urls)})
    return a


def task(tenant, call_id, event_id, occurred_at, *, phone, counterparty, assignee):
    a = envelope(tenant, call_id, "task.missed_call", event_id, occurred_at)
    a.update({"title": "Пропущенный звонок", "phone": phone, "counterparty": counterparty,
              "assignee_user_id": assignee})
    return a


def ce_headers(action):
    return [("ce_specversion", b"1.0"), ("ce_id", action["action_id"].encode()),
            ("ce_type", f"ru.crm.action.{action['type']}".encode()),
            ("ce_source", b"/router/test"), ("ce_time", b"2026-01-01T00:00:00Z"),
            ("content-type", b"application/json"),
            ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]


def produce(stack, topic, items, partition=None):
    """items: (key, value) with value a dict (JSON-encoded, CloudEvents headers) or bytes."""
    prod = Producer({"bootstrap.servers": stack["brokers"], "acks": "all",
                     "enable.idempotence": True, "linger.ms": 5})
    errors = []
    for key, value in items:
        if isinstance(value, dict):
            kw = {"value": json.dumps(value).encode(), "headers": ce_headers(value)}
        else:
            kw = {"value": value, "headers": [("ce_specversion", b"1.0"),
                                              ("ce_id", uuid.uuid4().hex.encode())]}
        if partition is not None:
            kw["partition"] = partition
        while True:
            try:
                prod.produce(topic, key=key.encode(), on_delivery=lambda e, m: e and errors.append(e),
                             **kw)
                break
            except BufferError:
                prod.poll(0.1)
        prod.poll(0)
    assert prod.flush(TIMEOUT) == 0
    assert not errors, errors


def read_all(stack, topic, idle=3.0, timeout=TIMEOUT):
    """Every message of a topic, reading until nothing arrived for `idle` seconds."""
    cons = Consumer({"bootstrap.servers": stack["brokers"], "group.id": uid("crmw-reader"),
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
    cons.subscribe([topic])
    out, last = [], time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() - last < idle and time.monotonic() < deadline:
        msg = cons.poll(0.3)
        if msg is None or msg.error():
            continue
        out.append(msg)
        last = time.monotonic()
    cons.close()
    return out


def group_lag(stack, topic, group, partitions=None):
    """Messages of topic not yet committed by group (partitions: unused, all are counted)."""
    return harness.group_lag(stack["brokers"], topic, group)


class Writer(harness.Service):
    """One crm-writer process with its own ops port."""

    def __init__(self, stack, topic, group, dlq, contacts, log_path, **env):
        port = free_port()
        super().__init__("crm-writer", CRM_WRITER,
                         base_env(stack, TOPIC_ACTIONS=topic, CONSUMER_GROUP=group, TOPIC_DLQ=dlq,
                                  TOPIC_CONTACTS=contacts, OPS_PORT=port, **env),
                         port, log_path)
        self.port = port

    def start(self):
        return super().start(wait_ready=False)


def histogram_interpolated(buckets, q):
    """Prometheus histogram_quantile: linear interpolation inside the bucket holding q."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank, prev_le, prev_count = q * buckets[-1][1], 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_count) / max(count - prev_count, 1e-9)
        prev_le, prev_count = le, count
    return prev_le


def histogram_quantile(buckets, q):
    """Upper bound of the bucket holding quantile q (Prometheus-style, no interpolation)."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    for le, count in buckets:
        if count >= rank:
            return le
    return buckets[-1][0]
