"""crm-writer and crmctl on the real stack (deploy/local): idempotent effects under duplicates
and shuffles, two writers racing on one new number, PostgreSQL stopped mid-stream, poison
messages to the dead-letter topic, the schema check, and crmctl end to end."""
import base64
import hashlib
import hmac
import json
import random
import re
import shutil
import subprocess
import threading
import time
from collections import defaultdict

import psycopg
import pytest
from confluent_kafka.admin import AdminClient

from crm_writer_support import (CRM_WRITER, CRMCTL, REPO, Tenant, Writer, contact, cp_create,
                                crmctl, group_lag, history, produce, query, read_all, task, ts,
                                uid, validator, wait_until)
from harness import needs_binaries

pytestmark = needs_binaries(CRM_WRITER, CRMCTL)


@pytest.fixture(scope="module")
def migrated(stack):
    out = crmctl(stack, "migrate").stdout
    assert re.search(r"schema at version \d+", out), out
    return stack


@pytest.fixture
def writers(migrated, tmp_path):
    """Factory of crm-writer processes, all stopped (SIGTERM, exit 0 expected) afterwards."""
    started = []

    def start(topic, group, dlq, contacts, **env):
        w = Writer(migrated, topic, group, dlq, contacts, tmp_path / f"writer{len(started)}.log",
                   **env).start()
        started.append(w)
        w.wait_ready()
        return w

    yield start
    codes = [w.stop() for w in started]
    for w, code in zip(started, codes):
        assert code == 0, f"crm-writer exit {code}:\n{w.logs()[-4000:]}"


def drain(stack, topic, group, partitions, timeout=90):
    wait_until(lambda: group_lag(stack, topic, group, partitions) == 0, timeout,
               interval=0.5, what=f"group {group} to commit all of {topic}")


# ---------------------------------------------------------------- duplicates and shuffles


def call_actions(t, call_id, kind, number, base):
    """The actions the router sends for one call; kind: answered or missed."""
    if number is None:
        cp = {"mode": "none"}
    elif number == t.known_phone:
        cp = {"mode": "existing", "id": t.known}
    else:
        cp = cp_create(number, t.anna)
    kw = {"caller": number, "counterparty": cp}
    u1, u2 = f"https://rec.example/{call_id}/1", f"https://rec.example/{call_id}/2"
    acts = [contact(t.id, call_id, "ringing", "e1", ringing_at=ts(base), **kw),
            # A second leg rang a second later: the earliest ringing_at must stay.
            contact(t.id, call_id, "ringing", "e1b", ringing_at=ts(base + 1), **kw)]
    if kind == "answered":
        acts += [contact(t.id, call_id, "answered", "e2", ringing_at=ts(base + 1),
                         answered_at=ts(base + 5), answered_by=t.anna, **kw),
                 contact(t.id, call_id, "completed", "e3", ringing_at=ts(base),
                         answered_at=ts(base + 5), ended_at=ts(base + 60), answered_by=t.anna,
                         urls=[u1], **kw),
                 contact(t.id, call_id, "completed", "e4", ended_at=ts(base + 61), urls=[u2, u1],
                         **kw)]
        if number == t.known_phone:
            acts += [history(t.id, call_id, t.deal, "e3", ts(base + 60), phone=number,
                             user_id=t.anna, duration_s=55, urls=[u1]),
                     history(t.id, call_id, t.deal, "e4", ts(base + 61), phone=number,
                             urls=[u2])]
    else:
        acts += [contact(t.id, call_id, "missed", "e5", ringing_at=ts(base),
                         ended_at=ts(base + 30), **kw),
                 task(t.id, call_id, "e5", ts(base + 30), phone=number, counterparty=cp,
                      assignee=t.ivan)]
    return acts


def test_duplicates_and_shuffles_apply_once(migrated, new_topic, writers):
    stack = migrated
    t = Tenant(stack)
    topic, dlq, events = new_topic("crmw.actions", 3), new_topic("crmw.dlq", 1), \
        new_topic("crmw.contacts", 3)
    rng = random.Random(5)
    pool = [f"+7916{rng.randrange(10**7):07d}" for _ in range(8)]
    calls = {}
    for i in range(60):
        number = t.known_phone if i % 5 == 0 else None if i % 7 == 0 else rng.choice(pool)
        calls[str(700000 + i)] = ("missed" if i % 3 == 0 else "answered", number, i * 100)
    messages = []
    for call_id, (kind, number, base) in calls.items():
        for a in call_actions(t, call_id, kind, number, base):
            key = f"{t.id}:{number}" if number else f"{t.id}:call:{call_id}"
            messages += [(key, a)] * rng.randint(1, 3)
    rng.shuffle(messages)
    actions_schema = validator("crm.call-actions.v1")
    for _, a in messages:
        actions_schema.validate(a)  # the test speaks the published contract
    group = uid("crmw-g")
    w = writers(topic, group, dlq, events, BATCH_MAX=16)
    produce(stack, topic, messages)
    drain(stack, topic, group, 3)

    rows = query(stack, "SELECT call_id, state::text, counterparty_id, answered_by, ringing_at,"
                 " answered_at, ended_at, record_urls, revision FROM contacts WHERE tenant_id = %s",
                 t.id)
    assert len(rows) == len(calls), "exactly one contact per call"
    autos = dict(query(stack, "SELECT auto_created_number, id FROM counterparties"
                       " WHERE tenant_id = %s AND auto_created_number IS NOT NULL", t.id))
    used = {n for _, n, _ in calls.values() if n and n != t.known_phone}
    assert set(autos) == used, "exactly one auto-created counterparty per new number"
    for call_id, state, cp_id, answered_by, ringing_at, answered_at, ended_at, urls, _ in rows:
        kind, number, base = calls[call_id]
        assert ringing_at.isoformat().startswith(ts(base)[:19]), "earliest ringing_at kept"
        if kind == "answered":
            assert state == "completed"
            assert answered_by == t.anna
            assert answered_at.isoformat().startswith(ts(base + 5)[:19])
            assert ended_at.isoformat().startswith(ts(base + 60)[:19]), "earliest end kept"
            assert urls == sorted([f"https://rec.example/{call_id}/1",
                                   f"https://rec.example/{call_id}/2"])
        else:
            assert state == "missed" and answered_by is None
        expected_cp = None if number is None else t.known if number == t.known_phone \
            else autos[number]
        assert cp_id == expected_cp, call_id

    tasks = query(stack, "SELECT call_id, assignee_user_id, counterparty_id FROM tasks"
                  " WHERE tenant_id = %s", t.id)
    missed = {c for c, (k, _, _) in calls.items() if k == "missed"}
    assert sorted(c for c, _, _ in tasks) == sorted(missed), "one task per missed call"
    assert all(a == t.ivan for _, a, _ in tasks)
    hist = query(stack, "SELECT call_id, record_urls, user_id, duration_s FROM deal_history"
                 " WHERE tenant_id = %s", t.id)
    known_answered = {c for c, (k, n, _) in calls.items() if k == "answered" and n == t.known_phone}
    assert sorted(h[0] for h in hist) == sorted(known_answered)
    for call_id, urls, user_id, duration in hist:
        assert len(urls) == 2 and user_id == t.anna and duration == 55
    (last_activity,), = query(stack, "SELECT last_activity_at FROM deals WHERE tenant_id = %s"
                              " AND id = %s", t.id, t.deal)
    latest = max(calls[c][2] for c in known_answered) + 61
    assert last_activity.isoformat().startswith(ts(latest)[:19]), "deal activity moved forward"

    # crm.contacts.v1: the newest event of each contact is its final row.
    newest = {}
    events_schema = validator("crm.contacts.v1")
    for m in read_all(stack, events):
        ev = json.loads(m.value())
        events_schema.validate(ev)
        hdr = dict(m.headers())
        assert hdr["ce_type"] == b"ru.crm.contact.upserted"
        assert hdr["ce_id"].decode() == f"{t.id}:{ev['call_id']}:{ev['revision']}"
        assert m.key().decode() == f"{t.id}:{ev['call_id']}"
        if ev["revision"] >= newest.get(ev["call_id"], {}).get("revision", 0):
            newest[ev["call_id"]] = ev
    assert set(newest) == set(calls)
    for call_id, state, *_rest, revision in rows:
        assert newest[call_id]["state"] == state
        assert newest[call_id]["revision"] == revision
    assert read_all(stack, dlq, idle=1) == []
    assert w.metric("crmw_actions_applied_total") == len(messages)
    listed = json.loads(crmctl(stack, "contacts", "list", t.id, "--json").stdout)
    assert len(listed) == len(calls)


# ---------------------------------------------------------------- racing writers


def test_two_writers_race_on_the_same_new_numbers(migrated, new_topic, writers):
    stack = migrated
    t = Tenant(stack)
    topic, dlq = new_topic("crmw.race", 2), new_topic("crmw.dlq", 1)
    group = uid("crmw-race")
    a = writers(topic, group, dlq, "", BATCH_MAX=20, BATCH_WAIT_MS=5)
    b = writers(topic, group, dlq, "", BATCH_MAX=20, BATCH_WAIT_MS=5)

    admin = AdminClient({"bootstrap.servers": stack["brokers"]})

    def both_assigned():
        desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
        owned = [len(m.assignment.topic_partitions) for m in desc.members]
        return len(owned) == 2 and owned == [1, 1]

    wait_until(both_assigned, 60, interval=0.5, what="one partition per writer")

    def call(part, i, n):
        return (f"{t.id}:{n}", contact(t.id, f"{8000 + part}{i:04d}", "ringing", f"race{part}",
                                       caller=n, counterparty=cp_create(n, t.anna),
                                       ringing_at=ts(i)))

    # A forced race: an open transaction holds the number in the unique index, so both writers
    # find no counterparty and block in their INSERT; when it rolls back, one inserts and the
    # other must take that row.
    forced = "+79260000001"
    with psycopg.connect(stack["pg_dsn"]) as blocker:
        blocker.execute("INSERT INTO counterparties (tenant_id, name, auto_created_number)"
                        " VALUES (%s, 'blocker', %s)", (t.id, forced))
        for part in (0, 1):
            produce(stack, topic, [call(part, 9999, forced)], partition=part)
        wait_until(lambda: query(stack, "SELECT count(*) FROM pg_stat_activity WHERE"
                                 " wait_event_type = 'Lock' AND query LIKE '%%counterparties%%'"
                                 )[0][0] >= 2, 30, what="both writers blocked on the number")
        blocker.rollback()
    drain(stack, topic, group, 2)
    rows = query(stack, "SELECT id, name FROM counterparties WHERE tenant_id = %s"
                 " AND auto_created_number = %s", t.id, forced)
    assert len(rows) == 1 and rows[0][1] == forced, rows
    attached = query(stack, "SELECT DISTINCT counterparty_id FROM contacts WHERE tenant_id = %s"
                     " AND caller = %s", t.id, forced)
    assert attached == [(rows[0][0],)]
    assert a.metric("crmw_counterparty_races_total") + b.metric(
        "crmw_counterparty_races_total") == 1, "the loser of the race took the winner's row"

    # Volume: the same 150 new numbers on both partitions at once.
    numbers = [f"+7926{n:07d}" for n in random.Random(9).sample(range(10**7), 150)]
    for part in (0, 1):
        produce(stack, topic, [call(part, i, n) for i, n in enumerate(numbers)], partition=part)
    drain(stack, topic, group, 2)

    counts = query(stack, "SELECT auto_created_number, count(*) FROM counterparties"
                   " WHERE tenant_id = %s AND auto_created_number IS NOT NULL GROUP BY 1", t.id)
    assert len(counts) == len(numbers) + 1 and all(c == 1 for _, c in counts)
    pairs = query(stack, "SELECT caller, count(*), count(DISTINCT counterparty_id) FROM contacts"
                  " WHERE tenant_id = %s GROUP BY caller", t.id)
    assert len(pairs) == len(numbers) + 1
    assert all(n == 2 and d == 1 for _, n, d in pairs), "both calls attached to the one counterparty"
    assert a.metric("crmw_actions_applied_total") > 0 and b.metric("crmw_actions_applied_total") > 0


# ---------------------------------------------------------------- PostgreSQL outage


def pg_ctl(stack, *args):
    env = stack["env"]
    cmd = ["runuser", "-u", "postgres", "--", f"{env['PG_BIN']}/pg_ctl", "-D", env["PG_DATA"],
           *args]
    subprocess.run(cmd, cwd="/", check=True, capture_output=True, timeout=90)


def test_postgres_stopped_mid_stream(migrated, new_topic, writers):
    stack = migrated
    env = stack["env"]
    t = Tenant(stack)
    topic, dlq = new_topic("crmw.outage", 3), new_topic("crmw.dlq", 1)
    group = uid("crmw-outage")
    w = writers(topic, group, dlq, "", BATCH_MAX=50)

    def batch(lo, hi):
        out = []
        for i in range(lo, hi):
            n = f"+7495{i:07d}"
            cp = cp_create(n, t.ivan)
            out += [(f"{t.id}:{n}", contact(t.id, str(900000 + i), "ringing", "r", caller=n,
                                            counterparty=cp, ringing_at=ts(i))),
                    (f"{t.id}:{n}", contact(t.id, str(900000 + i), "missed", "m", caller=n,
                                            counterparty=cp, ended_at=ts(i + 20))),
                    (f"{t.id}:{n}", task(t.id, str(900000 + i), "m", ts(i + 20), phone=n,
                                         counterparty=cp, assignee=t.ivan))]
        return out

    produce(stack, topic, batch(0, 100))
    drain(stack, topic, group, 3)

    stop_at = threading.Event()
    producer_errors = []

    def trickle():
        try:
            for lo in range(100, 300, 10):
                produce(stack, topic, batch(lo, lo + 10))
                if lo == 140:
                    stop_at.set()
                time.sleep(0.1)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            producer_errors.append(e)

    th = threading.Thread(target=trickle)
    th.start()
    stop_at.wait(30)
    pg_ctl(stack, "stop", "-m", "fast", "-w")
    try:
        wait_until(lambda: w.get("/readyz")[0] == 503, 8, what="/readyz to fail without postgres")
        time.sleep(1)
    finally:
        pg_ctl(stack, "start", "-l", f"{env['STACK_LOG_DIR']}/pg.log", "-w", "-t", "60")
    th.join(60)
    assert not producer_errors, producer_errors
    produce(stack, topic, batch(300, 320))
    drain(stack, topic, group, 3, timeout=120)
    wait_until(w.ready, 20, what="/readyz after postgres is back")

    (contacts, states), = query(stack, "SELECT count(*), count(*) FILTER (WHERE state = 'missed')"
                                " FROM contacts WHERE tenant_id = %s", t.id)
    assert contacts == states == 320
    (tasks,), = query(stack, "SELECT count(*) FROM tasks WHERE tenant_id = %s", t.id)
    assert tasks == 320
    (autos,), = query(stack, "SELECT count(*) FROM counterparties WHERE tenant_id = %s"
                      " AND auto_created_number IS NOT NULL", t.id)
    assert autos == 320
    assert w.metric("crmw_pg_reconnects_total") >= 1
    assert read_all(stack, dlq, idle=1) == [], "an outage is not the messages' fault"


# ---------------------------------------------------------------- poison messages


def test_poison_messages_go_to_the_dead_letter_topic(migrated, new_topic, writers):
    stack = migrated
    t = Tenant(stack)
    topic, dlq = new_topic("crmw.poison", 1), new_topic("crmw.dlq", 1)
    group = uid("crmw-poison")
    w = writers(topic, group, dlq, "")
    good = [(f"{t.id}:k", contact(t.id, str(600000 + i), "ringing", "g", caller=t.known_phone,
                                  counterparty={"mode": "existing", "id": t.known},
                                  ringing_at=ts(i))) for i in range(20)]
    missing = contact(t.id, "600100", "ringing", "x", caller=None, counterparty={"mode": "none"})
    del missing["caller_raw"]
    unknown_type = dict(good[0][1], type="contact.delete")
    stranger = contact("no-such-tenant-" + uid()[-6:], "600101", "ringing", "x", caller=None,
                       counterparty={"mode": "none"})
    no_deal = history(t.id, "600102", 987654321, "x", ts(0), phone=None)
    no_user = contact(t.id, "600103", "answered", "x", caller=None, answered_by=987654321,
                      counterparty={"mode": "none"})
    poison = [(f"{t.id}:p", b"{not json"), (f"{t.id}:p", missing), (f"{t.id}:p", unknown_type),
              (f"{t.id}:p", stranger), (f"{t.id}:p", no_deal), (f"{t.id}:p", no_user)]
    stream = good[:10] + poison[:3] + good[10:15] + poison[3:] + good[15:]
    produce(stack, topic, stream)
    drain(stack, topic, group, 1)

    dead = read_all(stack, dlq)
    assert len(dead) == len(poison)
    reasons = [dict(m.headers())["dlq_reason"].decode() for m in dead]
    assert reasons[0].startswith("value: not JSON")
    assert reasons[1] == "caller_raw: missing"
    assert reasons[2] == "type: unknown action type"
    assert "contacts_tenant_id_fkey" in reasons[3] and "23503" in reasons[3]
    assert "deal_history_tenant_id_deal_id_fkey" in reasons[4]
    assert "contacts_tenant_id_answered_by_fkey" in reasons[5]
    for m, (key, value) in zip(dead, poison):
        hdr = dict(m.headers())
        assert m.key().decode() == key
        assert hdr["dlq_source_topic"].decode() == topic
        assert hdr["dlq_service"] == b"crm-writer"
        assert "ce_id" in hdr, "original headers kept"
        if isinstance(value, dict):
            assert json.loads(m.value()) == value
            assert hdr["ce_id"].decode() == value["action_id"]
    (n,), = query(stack, "SELECT count(*) FROM contacts WHERE tenant_id = %s", t.id)
    assert n == 20, "the rest of every batch applied"
    assert w.metric("crmw_dead_letters_total", 'stage="parse"') == 3
    assert w.metric("crmw_dead_letters_total", 'stage="apply"') == 3
    assert w.metric("crmw_batch_savepoint_path_total") >= 1


# ---------------------------------------------------------------- schema check


def test_refuses_a_schema_older_than_it_needs(migrated, tmp_path):
    stack = migrated
    schema = "crmw_empty_" + uid()[-8:].replace("-", "")
    query(stack, f"CREATE SCHEMA {schema}")
    try:
        w = Writer(stack, "unused", "unused", "unused", "", tmp_path / "old.log",
                   PG_DSN=stack["pg_dsn"] + f" options='-csearch_path={schema}'").start()
        assert w.proc.wait(30) == 1
        newest = max(int(f.name[:3]) for f in (REPO / "crm-writer" / "migrations").glob("*.sql"))
        assert (f"schema at version 0, this crm-writer needs {newest}: run crmctl migrate"
                in w.logs())
        w.stop()
    finally:
        query(stack, f"DROP SCHEMA {schema} CASCADE")


# ---------------------------------------------------------------- crmctl


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_crmctl_end_to_end(migrated, new_topic, tmp_path):
    stack = migrated
    tokens = new_topic("crmw.tokens", 1, config={"cleanup.policy": "compact"})
    tid = uid("crmw-ctl")
    key = "uis-key-0123456789-SECRET"
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"notify_responsible_only": True,
                                    "create_missed_call_task": False, "uis_api_key": key}))
    env = {"TOPIC_TENANT_TOKENS": tokens}

    p = crmctl(stack, "tenant", "install", tid, "--name", "ООО Тест", "--settings", settings,
               "--no-deal-history", **env)
    lines = p.stdout.splitlines()
    assert len(lines) == 1, p.stdout
    m = re.fullmatch(rf"https://hooks\.example\.test/v1/uis/{tid}/crmwk1\.1\.([A-Za-z0-9_-]+)",
                     lines[0])
    assert m, lines[0]
    assert "shown once" in p.stderr and key not in p.stdout + p.stderr

    shown = json.loads(crmctl(stack, "tenant", "show", tid, "--json").stdout)
    assert shown["uis_api_key"] == "****" + key[-4:]
    assert shown["notify_responsible_only"] is True
    assert shown["create_missed_call_task"] is False
    assert shown["add_call_to_last_active_deal"] is False
    assert shown["create_contact_on_call"] is True
    assert shown["webhook_token_version"] == 1
    text = crmctl(stack, "tenant", "show", tid).stdout
    assert key not in text and "****" + key[-4:] in text
    version = shown["settings_version"]

    p2 = crmctl(stack, "tenant", "token", tid, **env)
    assert re.fullmatch(rf"https://hooks\.example\.test/v1/uis/{tid}/crmwk1\.2\.[A-Za-z0-9_-]+",
                        p2.stdout.strip()), p2.stdout
    assert p2.stdout.strip() != lines[0]
    announced = [(msg.key().decode(), json.loads(msg.value()), dict(msg.headers()))
                 for msg in read_all(stack, tokens, idle=1)]
    assert [(k, v) for k, v, _ in announced] == [
        (tid, {"tenant": tid, "token_version": 1, "key_id": "crmwk1"}),
        (tid, {"tenant": tid, "token_version": 2, "key_id": "crmwk1"})]
    assert all(h["ce_type"] == b"ru.crm.tenant.token" for _, _, h in announced)
    for _, v, _ in announced:
        validator("crm.tenant-tokens.v1").validate(v)
    assert json.loads(crmctl(stack, "tenant", "show", tid, "--json").stdout)[
        "settings_version"] == version, "a token re-issue is not a settings change"

    anna = int(crmctl(stack, "user", "add", tid, "--login", "anna", "--name", "Анна").stdout)
    ivan = int(crmctl(stack, "user", "add", tid, "--login", "ivan", "--name", "Иван").stdout)
    dup = crmctl(stack, "user", "add", tid, "--login", "anna", "--name", "X", check=False)
    assert dup.returncode == 1 and f"login anna already exists in tenant {tid}" in dup.stderr
    crmctl(stack, "employees", "set", tid, ivan, anna)
    crmctl(stack, "extension", "set", tid, "101", anna)
    crmctl(stack, "extension", "set", tid, "102", ivan)
    crmctl(stack, "extension", "rm", tid, "102")
    shown = json.loads(crmctl(stack, "tenant", "show", tid, "--json").stdout)
    assert [e["user_id"] for e in shown["employees"]] == [ivan, anna]
    assert shown["extensions"] == [{"extension": "101", "user_id": anna}]
    assert shown["settings_version"] == version + 6
    bad = crmctl(stack, "extension", "rm", tid, "102", check=False)
    assert bad.returncode == 1 and "extension 102 is not mapped" in bad.stderr
    bad = crmctl(stack, "employees", "set", tid, anna, 987654321, check=False)
    assert bad.returncode == 1 and f"user 987654321 does not exist in tenant {tid}" in bad.stderr

    cp = int(crmctl(stack, "counterparty", "add", tid, "--name", "ООО Ромашка", "--work-phone",
                    "8 (903) 111-22-33", "--mobile-phone", "9161234567", "--responsible",
                    anna).stdout)
    bad = crmctl(stack, "counterparty", "add", tid, "--name", "X", "--work-phone", "12ab",
                 check=False)
    assert bad.returncode == 1 and "--work-phone" in bad.stderr
    deal = int(crmctl(stack, "deal", "add", tid, "--counterparty", cp, "--title", "Поставка",
                      "--last-activity", "2026-01-02T03:04:05Z").stdout)
    bad = crmctl(stack, "deal", "add", tid, "--counterparty", cp, "--title", "X", "--stage",
                 "maybe", check=False)
    assert bad.returncode == 1 and "--stage" in bad.stderr
    usage = crmctl(stack, "deal", "add", tid, "--counterparty", cp, check=False)
    assert usage.returncode == 2 and "usage: crmctl" in usage.stderr
    usage = crmctl(stack, "tenant", "show", tid, "--colour", check=False)
    assert usage.returncode == 2 and "unknown option '--colour'" in usage.stderr

    cps = json.loads(crmctl(stack, "counterparties", "list", tid, "--json").stdout)
    assert cps == [{"id": cp, "name": "ООО Ромашка", "work_phone": "+79031112233",
                    "work_phone_raw": "8 (903) 111-22-33", "mobile_phone": "+79161234567",
                    "mobile_phone_raw": "9161234567", "responsible_user_id": anna,
                    "auto_created": False, "created_at": cps[0]["created_at"]}]
    deals = json.loads(crmctl(stack, "deals", "list", tid, "--json").stdout)
    assert deals == [{"id": deal, "counterparty_id": cp, "title": "Поставка", "stage": "open",
                      "last_activity_at": "2026-01-02T03:04:05.000000Z"}]
    for what in ("contacts", "tasks", "deal-history"):
        assert json.loads(crmctl(stack, what, "list", tid, "--json").stdout) == []
    assert "(none)" in crmctl(stack, "tasks", "list", tid).stdout
    missing = crmctl(stack, "contacts", "list", "no-such-" + tid, "--json", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr

    # Settings by key; the fixed counterparty must exist.
    crmctl(stack, "tenant", "set", tid, "fixed_counterparty_id=" + str(cp),
           "unknown_to_fixed_counterparty=on", "name=ООО Тест 2")
    bad = crmctl(stack, "tenant", "set", tid, "fixed_counterparty_id=987654321", check=False)
    assert bad.returncode == 1 and "counterparty 987654321 does not exist" in bad.stderr
    bad = crmctl(stack, "tenant", "set", tid, "colour=red", check=False)
    assert bad.returncode == 2 and "unknown setting 'colour'" in bad.stderr
    shown = json.loads(crmctl(stack, "tenant", "show", tid, "--json").stdout)
    assert shown["fixed_counterparty_id"] == cp and shown["unknown_to_fixed_counterparty"]
    assert shown["name"] == "ООО Тест 2" and shown["settings_version"] == version + 7

    # Re-install: settings replaced, users kept, the API key kept, a new token version.
    p3 = crmctl(stack, "tenant", "install", tid, "--name", "ООО Тест", "--fixed-counterparty",
                cp, **env)
    assert "re-installed" in p3.stderr and "/crmwk1.3." in p3.stdout
    shown = json.loads(crmctl(stack, "tenant", "show", tid, "--json").stdout)
    assert shown["uis_api_key"] == "****" + key[-4:] and shown["users"] == 2
    assert shown["notify_responsible_only"] is False and shown["fixed_counterparty_id"] == cp

    # Popup token: HS256 over {tenant, sub, exp}, verifiable with the shared secret.
    tok = crmctl(stack, "popup-token", tid, anna).stdout.strip()
    head, body, sig = tok.split(".")
    secret = base64.b64decode(crmctl.__globals__["base_env"](stack)["POPUP_JWT_SECRET"])
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert b64url_decode(sig) == mac
    assert json.loads(b64url_decode(head))["alg"] == "HS256"
    claims = json.loads(b64url_decode(body))
    assert claims["tenant"] == tid and claims["sub"] == str(anna)
    assert claims["exp"] > time.time() + 3600
    bad = crmctl(stack, "popup-token", tid, 987654321, check=False)
    assert bad.returncode == 1 and "user 987654321 does not exist" in bad.stderr

    # Migrations: idempotent, and a changed applied file is refused.
    assert "(0 applied now)" in crmctl(stack, "migrate").stdout
    changed = tmp_path / "migrations"
    shutil.copytree(REPO / "crm-writer" / "migrations", changed)
    with open(changed / "001_init.sql", "a") as f:
        f.write("\n-- edited after it was applied\n")
    bad = crmctl(stack, "migrate", "--dir", changed, check=False)
    assert bad.returncode == 1 and "001_init.sql was changed after it was applied" in bad.stderr


# ---------------------------------------------------------------- the database's fault, not the data's


def test_database_state_failures_hold_the_stream_not_dead_letter(migrated, new_topic, writers):
    """A missing table (42P01) or privilege (42501) is the database's state, not the actions'
    fault: the writer keeps the batch, raises crmw_blocked and retries; once an operator fixes
    the database the same actions apply, and nothing reaches the dead-letter topic."""
    stack = migrated
    t = Tenant(stack)
    topic, dlq = new_topic("crmw.dbstate", 1), new_topic("crmw.dlq", 1)
    group = uid("crmw-dbstate")
    w = writers(topic, group, dlq, "")

    def calls(lo, hi):
        out = []
        for i in range(lo, hi):
            n = f"+7496{i:07d}"
            cp = cp_create(n, t.ivan)
            out += [(f"{t.id}:{n}", contact(t.id, str(910000 + i), "missed", "m", caller=n,
                                            counterparty=cp, ended_at=ts(i + 20))),
                    (f"{t.id}:{n}", task(t.id, str(910000 + i), "m", ts(i + 20), phone=n,
                                         counterparty=cp, assignee=t.ivan))]
        return out

    def counts():
        (c,), = query(stack, "SELECT count(*) FROM contacts WHERE tenant_id = %s", t.id)
        (k,), = query(stack, "SELECT count(*) FROM tasks WHERE tenant_id = %s", t.id)
        return c, k

    produce(stack, topic, calls(0, 5))
    drain(stack, topic, group, 1)
    assert counts() == (5, 5)
    assert w.metric("crmw_blocked") == 0

    for lo, broken, fixed in [
            (5, "ALTER TABLE contacts RENAME TO contacts_away_i16",
             "ALTER TABLE contacts_away_i16 RENAME TO contacts"),
            (10, "REVOKE INSERT ON tasks FROM CURRENT_USER",
             "GRANT INSERT ON tasks TO CURRENT_USER")]:
        before = w.metric("crmw_batch_retries_total", 'cause="postgresql"')
        query(stack, broken)
        try:
            produce(stack, topic, calls(lo, lo + 5))
            wait_until(lambda: w.metric("crmw_batch_retries_total", 'cause="postgresql"')
                       >= before + 2, 30, what=f"retries after {broken!r}")
            assert w.metric("crmw_blocked") == 1
            assert group_lag(stack, topic, group, 1) > 0, "held, not skipped"
            assert read_all(stack, dlq, idle=0.5) == []
        finally:
            query(stack, fixed)
        drain(stack, topic, group, 1, timeout=60)
        wait_until(lambda: w.metric("crmw_blocked") == 0, 10, what="crmw_blocked back to 0")
    assert counts() == (15, 15)
    assert read_all(stack, dlq, idle=1) == [], "the database's state is not the actions' fault"
    assert w.metric("crmw_dead_letters_total") == 0


def test_fenced_static_member_stops(migrated, new_topic, writers, tmp_path):
    """A fatal consumer error (here: a second writer with the same INSTANCE_ID fences the first)
    stops the writer with a failure status instead of leaving a member that polls nothing."""
    stack = migrated
    topic, dlq = new_topic("crmw.fenced", 1), new_topic("crmw.dlq", 1)
    group = uid("crmw-fenced")
    # Not from the fixture, which expects exit 0 from every writer it started.
    first = Writer(stack, topic, group, dlq, "", tmp_path / "fenced.log",
                   INSTANCE_ID="writer-0").start()
    try:
        first.wait_ready()
        wait_until(lambda: "partitions assigned" in first.logs(), 60,
                   what="the first writer's assignment")
        writers(topic, group, dlq, "", INSTANCE_ID="writer-0")
        code = wait_until(lambda: first.proc.poll(), 90, what="the fenced writer to stop")
        assert code == 1, first.logs()[-3000:]
        assert "fatal consumer error" in first.logs()
    finally:
        first.stop()
