"""Helpers of the router system tests and benchmark: schema, a tenant written with SQL, the
router process, events in, messages out, and the contract of crm.popups.v1 / crm.call-actions.v1
as JSON Schema (docs/architecture.md)."""
import json
import os
import secrets
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
from confluent_kafka import Consumer, Producer

import harness
from harness import BUILD_DIR, CRMCTL, REPO, TIMEOUT, free_port  # noqa: F401

ROUTER = harness.binary("router")

_ts = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"}
_ts_or_null = {"anyOf": [_ts, {"type": "null"}]}
_id_or_null = {"type": ["integer", "null"]}
_number = {"anyOf": [{"type": "null"}, {
    "type": "object", "required": ["number", "formatted"], "additionalProperties": False,
    "properties": {"number": {"type": "string", "pattern": r"^\+\d{5,15}$"},
                   "formatted": {"type": "string"}}}]}
_named = {"anyOf": [{"type": "null"}, {
    "type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}]}

POPUP_SCHEMA = {
    "type": "object",
    "required": ["popup_id", "tenant", "user_id", "call_id", "action", "state", "event_id",
                 "caller", "virtual_number", "counterparty", "responsible", "deal",
                 "answered_by", "direction", "ringing_at", "answered_at", "ended_at"],
    "additionalProperties": False,
    "properties": {
        "popup_id": {"type": "string"}, "tenant": {"type": "string"},
        "user_id": {"type": "integer"}, "call_id": {"type": "string", "pattern": r"^\d+$"},
        "action": {"enum": ["show", "update", "close"]},
        "state": {"enum": ["ringing", "in_call", "closed"]},
        "event_id": {"type": "string"}, "caller": _number, "virtual_number": _number,
        "counterparty": {"anyOf": [{"type": "null"}, {
            "type": "object", "required": ["id", "name"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}]},
        "responsible": _named, "deal": {"anyOf": [{"type": "null"}, {
            "type": "object", "required": ["id", "title"],
            "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}]},
        "answered_by": _named, "direction": {"enum": ["in", "out"]},
        "ringing_at": _ts, "answered_at": _ts_or_null, "ended_at": _ts_or_null,
    },
}

_cp_spec = {"oneOf": [
    {"type": "object", "required": ["mode", "id"], "additionalProperties": False,
     "properties": {"mode": {"enum": ["existing", "fixed"]}, "id": {"type": "integer"}}},
    {"type": "object", "required": ["mode", "phone", "phone_raw", "name", "responsible_user_id"],
     "additionalProperties": False,
     "properties": {"mode": {"const": "create"}, "phone": {"type": "string"},
                    "phone_raw": {"type": "string"}, "name": {"type": "string"},
                    "responsible_user_id": _id_or_null}},
    {"type": "object", "required": ["mode"], "additionalProperties": False,
     "properties": {"mode": {"const": "none"}}},
]}
_envelope = {"type": {"type": "string"}, "action_id": {"type": "string"},
             "tenant": {"type": "string"}, "call_id": {"type": "string"},
             "event_id": {"type": "string"}, "occurred_at": _ts}
_urls = {"type": "array", "items": {"type": "string"}}
ACTION_SCHEMAS = {
    "contact.upsert": {
        "type": "object", "additionalProperties": False,
        "required": list(_envelope) + ["direction", "caller", "caller_raw", "virtual_number",
                                       "state", "answered_by", "ringing_at", "answered_at",
                                       "ended_at", "record_urls", "counterparty"],
        "properties": {**_envelope, "direction": {"enum": ["in", "out"]},
                       "caller": {"type": ["string", "null"]}, "caller_raw": {"type": "string"},
                       "virtual_number": {"type": ["string", "null"]},
                       "state": {"enum": ["ringing", "answered", "completed", "missed"]},
                       "answered_by": _id_or_null, "ringing_at": _ts_or_null,
                       "answered_at": _ts_or_null, "ended_at": _ts_or_null,
                       "record_urls": _urls, "counterparty": _cp_spec}},
    "deal.history.add": {
        "type": "object", "additionalProperties": False,
        "required": list(_envelope) + ["deal_id", "direction", "phone", "user_id", "duration_s",
                                       "record_urls"],
        "properties": {**_envelope, "deal_id": {"type": "integer"},
                       "direction": {"enum": ["in", "out"]}, "phone": {"type": ["string", "null"]},
                       "user_id": _id_or_null, "duration_s": _id_or_null, "record_urls": _urls}},
    "task.missed_call": {
        "type": "object", "additionalProperties": False,
        "required": list(_envelope) + ["title", "phone", "counterparty", "assignee_user_id"],
        "properties": {**_envelope, "title": {"const": "Пропущенный звонок"},
                       "phone": {"type": ["string", "null"]}, "counterparty": _cp_spec,
                       "assignee_user_id": _id_or_null}},
}


def uid(prefix="rt"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ensure_schema(stack):
    """The CRM schema: crmctl migrate when it is built (every time: it applies only what is
    pending, and a stack reused across branches may lack the newest migration), else the
    migration files in order (only when the tables are missing)."""
    if CRMCTL.exists():
        subprocess.run([str(CRMCTL), "migrate"], check=True, timeout=120,
                       env={**os.environ, "PG_DSN": stack["pg_dsn"]})
        return
    with psycopg.connect(stack["pg_dsn"], autocommit=True) as conn:
        present = conn.execute("SELECT to_regclass('router_calls') IS NOT NULL").fetchone()[0]
        if present:
            return
        for path in sorted((REPO / "crm-writer" / "migrations").glob("*.sql")):
            conn.execute(path.read_text())


class Tenant(harness.Tenant):
    """A tenant written directly with SQL, so that the router's tests need nothing of
    crm-writer's admin code and store numbers exactly as given. users: {login: name};
    employees: [login]; extensions: {ext: login}; returns ids by login in .users."""

    def __init__(self, stack, users, employees=(), extensions=None, **settings):
        super().__init__(uid("rt"), harness.crmctl_runner(
            {**os.environ, "PG_DSN": stack["pg_dsn"]}))
        self.stack = stack
        cols = {"notify_responsible_only": False, "create_contact_on_call": True,
                "add_call_to_last_active_deal": True, "create_missed_call_task": True,
                "unknown_to_fixed_counterparty": False}
        cols.update(settings)
        with psycopg.connect(stack["pg_dsn"]) as conn:
            conn.execute(
                "INSERT INTO tenants (id, name, notify_responsible_only, create_contact_on_call,"
                " add_call_to_last_active_deal, create_missed_call_task,"
                " unknown_to_fixed_counterparty) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (self.id, "Router test " + self.id, cols["notify_responsible_only"],
                 cols["create_contact_on_call"], cols["add_call_to_last_active_deal"],
                 cols["create_missed_call_task"], cols["unknown_to_fixed_counterparty"]))
            with conn.cursor() as cur:
                for login, name in users.items():
                    cur.execute("INSERT INTO users (tenant_id, login, name) VALUES (%s, %s, %s)"
                                " RETURNING id", (self.id, login, name))
                    self.users[login] = cur.fetchone()[0]
                for pos, login in enumerate(employees):
                    cur.execute("INSERT INTO settings_employees VALUES (%s, %s, %s)",
                                (self.id, pos, self.users[login]))
                for ext, login in (extensions or {}).items():
                    cur.execute("INSERT INTO extensions VALUES (%s, %s, %s)",
                                (self.id, ext, self.users[login]))

    def sql(self, sql, *params):
        with psycopg.connect(self.stack["pg_dsn"], autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def counterparty(self, name, work=None, mobile=None, responsible=None):
        return self.sql("INSERT INTO counterparties (tenant_id, name, work_phone, mobile_phone,"
                        " responsible_user_id) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                        self.id, name, work, mobile,
                        self.users[responsible] if responsible else None)[0][0]

    def deal(self, cp, title, stage="open", ago_s=0):
        return self.sql("INSERT INTO deals (tenant_id, counterparty_id, title, stage,"
                        " last_activity_at) VALUES (%s, %s, %s, %s,"
                        " now() - %s * interval '1 second') RETURNING id",
                        self.id, cp, title, stage, ago_s)[0][0]

    def set(self, **settings):
        for k, v in settings.items():
            self.sql(f"UPDATE tenants SET {k} = %s, settings_version = settings_version + 1"
                     " WHERE id = %s", v, self.id)


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{dt.microsecond // 1000:03d}Z"


def event(tenant, call_id, state, frm="+79031112233", ext=None, urls=(), at=None,
          diversion="+74993482958", direction="in"):
    at = at or datetime.now(timezone.utc)
    return {
        "call_id": str(call_id), "call_state": state, "direction": direction,
        "from_number": frm, "from_number_raw": frm[1:] if frm else "",
        "diversion": diversion, "diversion_raw": diversion[1:] if diversion else "",
        "user_extension": ext, "call_record_urls": list(urls), "tenant": tenant,
        "received_at": rfc3339(at), "event_id": uuid.uuid4().hex,
    }


def event_key(ev):
    if ev["from_number"]:
        return f"{ev['tenant']}:{ev['from_number']}"
    return f"{ev['tenant']}:call:{ev['call_id']}"


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def headers_for(ev):
    return [("ce_specversion", b"1.0"), ("ce_id", ev["event_id"].encode()),
            ("ce_type", f"ru.uis.call.{ev['call_state'].lower()}".encode()),
            ("ce_source", f"/v1/uis/{ev['tenant']}".encode()),
            ("content-type", b"application/json"),
            ("traceparent", f"00-{TRACE_ID}-{secrets.token_hex(8)}-01".encode())]


def producer(stack):
    return Producer({"bootstrap.servers": stack["brokers"], "acks": "all",
                     "enable.idempotence": True, "linger.ms": 2})


def send(prod, topic, events, raw=None):
    """Produce events (dicts) and raw (key, bytes) pairs; wait for delivery."""
    errors = []

    def report(err, _msg):
        if err:
            errors.append(err)

    for ev in events:
        while True:
            try:
                prod.produce(topic, key=event_key(ev), value=json.dumps(ev).encode(),
                             headers=headers_for(ev), on_delivery=report)
                break
            except BufferError:
                prod.poll(0.05)
        prod.poll(0)
    for key, value in raw or ():
        prod.produce(topic, key=key, value=value, on_delivery=report)
    assert prod.flush(60) == 0
    assert not errors, errors


class Reader:
    """Reads a topic from the beginning, keeping (key, value, headers, partition, offset)."""

    def __init__(self, stack, topic):
        self.c = Consumer({"bootstrap.servers": stack["brokers"], "group.id": uid("rt-read"),
                           "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.c.subscribe([topic])
        self.msgs = []

    def poll(self, seconds=0.5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            m = self.c.poll(0.1)
            if m is None or m.error():
                continue
            try:
                value = json.loads(m.value())
            except ValueError:
                value = m.value()
            self.msgs.append({"key": m.key().decode() if m.key() else None,
                              "value": value,
                              "headers": {k: v.decode() for k, v in (m.headers() or [])},
                              "partition": m.partition(), "offset": m.offset(),
                              "ts": time.time()})
        return self.msgs

    def until(self, check, timeout=TIMEOUT, what="messages"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll(0.3)
            if check(self.msgs):
                return self.msgs
        raise AssertionError(f"timed out waiting for {what}: have {len(self.msgs)}")

    def close(self):
        self.c.close()


class Router(harness.Service):
    """A router process with its own topics, group and ops port."""

    def __init__(self, stack, topics, log_path, **env):
        port = free_port()
        super().__init__("router", ROUTER, {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KAFKA_BROKERS": stack["brokers"], "PG_DSN": stack["pg_dsn"],
            "TOPIC_CALL_EVENTS": topics["events"], "TOPIC_ACTIONS": topics["actions"],
            "TOPIC_POPUPS": topics["popups"], "TOPIC_DLQ": topics["dlq"],
            "CONSUMER_GROUP": topics.get("group", uid("rt-group")),
            "INSTANCE_ID": topics.get("instance", uid("router")),
            "OPS_PORT": str(port), "LOG_LEVEL": "info",
            **{k: str(v) for k, v in env.items()},
        }, port, log_path)
        self.port = port

    def ops(self, path):
        return self.get(path)


def first_ids(msgs):
    """Messages deduplicated by ce_id (first occurrence), asserting that every repeat of an id
    is an exact replay of the same value."""
    seen = {}
    out = []
    for m in msgs:
        cid = m["headers"]["ce_id"]
        if cid in seen:
            assert seen[cid] == m["value"], f"id {cid} carried two different values"
            continue
        seen[cid] = m["value"]
        out.append(m)
    return out


RANK = {"ringing": 1, "in_call": 2, "closed": 3}


def assert_popups_forward(popups):
    """Per (call, user), in topic order after dropping replays, states only move forward."""
    state = {}
    for m in first_ids(sorted(popups, key=lambda m: (m["partition"], m["offset"]))):
        v = m["value"]
        k = (v["tenant"], v["call_id"], v["user_id"])
        prev = state.get(k, 0)
        assert RANK[v["state"]] > prev, f"popup went backwards: {v}"
        assert (v["action"] == "show") == (prev == 0), v
        state[k] = RANK[v["state"]]
    return state


def now_minus(seconds):
    return datetime.now(timezone.utc) - timedelta(seconds=seconds)
