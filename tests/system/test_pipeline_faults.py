"""Faults during a steady load of calls, on the real stack (issue 8): SIGKILL of each service in
turn, the broker stopped and started, PostgreSQL stopped and started, a notifier replica killed
while users are connected. After each: every call whose webhooks got a 2xx has its contact in
the state its last acknowledged notification implies, nothing is duplicated, and no popup is
left open for a finished call."""
import collections
import json
import signal
import threading
import time
import uuid

import pytest
import requests

from harness import binary, needs_binaries
from pipeline_stack import SSE, Pipeline, Supervisor, new_call_id, uis_body, wait_until
from pipeline_support import Service, free_port, stack_script

pytestmark = [pytest.mark.faults,
              needs_binaries(binary("ingest"), binary("router"), binary("crm-writer"),
                             binary("notifier"), binary("crmctl"))]


@pytest.fixture(scope="module")
def pipe(stack):
    with Pipeline.on_own_topics(stack) as p, Supervisor(p) as p.supervisor:
        yield p
        print(f"\nservices restarted after exiting: {p.supervisor.take()}")


class Load:
    """Calls at a steady rate, each notification retried until ingest acknowledges it (as UIS
    retries), for as long as the fault lasts."""

    def __init__(self, tenant, rate=8):
        self.t, self.rate = tenant, rate
        self.stop = threading.Event()
        self.acked = collections.defaultdict(list)  # call id -> states acknowledged
        self.numbers = set()
        self.refused = collections.Counter()
        self.answers = []  # (when the request was sent, status) of every answer
        self.thread = threading.Thread(target=self.run, daemon=True)

    def post(self, cid, state, frm, ext=None, rec=None):
        body = uis_body(cid, state, frm, ext, rec)
        deadline = time.time() + 120
        while time.time() < deadline:
            sent = time.time()
            try:
                r = requests.post(self.t.url, data=body, timeout=10)
                self.answers.append((sent, r.status_code))
                if r.status_code == 200:
                    self.acked[cid].append(state)
                    return
                self.refused[r.status_code] += 1
            except requests.RequestException:
                self.refused["conn"] += 1
            time.sleep(0.5)
        raise AssertionError(f"call {cid} {state} never acknowledged")

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            cid = new_call_id()
            frm = f"7926{i % 40:07d}"  # numbers repeat: new callers, then known ones
            self.numbers.add("+" + frm)
            self.post(cid, "RINGING", frm, "101")
            if i % 4 == 0:
                self.post(cid, "MISSED", frm)
            else:
                self.post(cid, "ANSWERED", frm, "101")
                self.post(cid, "HANGUP", frm, "101", f"https://rec.example/{cid}")
            time.sleep(1 / self.rate)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=300)


def check_outcome(t, load):
    want = {"HANGUP": "completed", "MISSED": "missed", "ANSWERED": "answered", "RINGING": "ringing"}
    rank = ["RINGING", "ANSWERED", "HANGUP", "MISSED"]

    def done():
        rows = {c["call_id"]: c for c in t.list("contacts")}
        late = [cid for cid, states in load.acked.items()
                if cid not in rows or rows[cid]["state"] != want[max(states, key=rank.index)]]
        return (not late, rows, late)

    ok, rows, late = wait_until(lambda: (r := done())[0] and r, timeout=120,
                                what="every acknowledged call in its state")
    contacts = t.list("contacts")
    assert len(contacts) == len({c["call_id"] for c in contacts})  # one per call
    auto = [c["mobile_phone"] for c in t.list("counterparties") if c["auto_created"]]
    assert len(auto) == len(set(auto))  # one per number
    tasks = t.list("tasks")
    assert len(tasks) == len({x["call_id"] for x in tasks})
    missed = sum(1 for s in load.acked.values() if "MISSED" in s)
    assert len(tasks) == missed
    return len(load.acked), len(contacts), len(auto), len(tasks)


def final_popups(pipe, tenant_id):
    """The last state of every popup of the tenant on the popups topic."""
    from confluent_kafka import Consumer, TopicPartition

    topic = pipe.topics["TOPIC_POPUPS"]
    c = Consumer({"bootstrap.servers": pipe.stack["brokers"], "group.id": "faults-check",
                  "enable.auto.commit": False})
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if hi > lo:
            ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in ends])
    rank = {"ringing": 0, "in_call": 1, "closed": 2}
    last = {}
    while ends:
        m = c.poll(5)
        assert m is not None
        if m.error():
            continue
        v = json.loads(m.value())
        if v["tenant"] == tenant_id:
            prev = last.get(v["popup_id"])
            if prev is None or rank[v["state"]] >= rank[prev]:
                last[v["popup_id"]] = v["state"]
        if m.offset() + 1 >= ends[m.partition()]:
            ends.pop(m.partition())
    c.close()
    return last


def office(pipe):
    t = pipe.tenant()
    t.user("anna", "Анна", "101")
    t.user("boris", "Борис", "102")
    t.employees("anna", "boris")
    return t


@pytest.mark.parametrize("victim", ["router", "crm-writer", "notifier", "ingest"])
def test_sigkill_each_service_during_load(pipe, victim):
    t = office(pipe)
    with Load(t) as load:
        time.sleep(3)
        svc = pipe.services[victim]
        svc.stop(signal.SIGKILL)
        time.sleep(2)
        svc.start(ready_timeout=90)
        time.sleep(3)
    counts = check_outcome(t, load)
    opened = {k: v for k, v in final_popups(pipe, t.id).items() if v != "closed"}
    print(f"{victim} killed: calls {counts[0]}, contacts {counts[1]}, new counterparties "
          f"{counts[2]}, tasks {counts[3]}, refused while down {dict(load.refused)}, "
          f"popups left open {len(opened)}")
    assert not opened


def test_broker_stopped_and_started_during_load(pipe):
    t = office(pipe)
    with Load(t) as load:
        time.sleep(3)
        stack_script("stack_kafka_down")
        time.sleep(3)
        stack_script("stack_kafka_up")
        time.sleep(5)
    counts = check_outcome(t, load)
    opened = {k: v for k, v in final_popups(pipe, t.id).items() if v != "closed"}
    print(f"broker restarted: calls {counts[0]}, contacts {counts[1]}, refused {dict(load.refused)}"
          f", popups left open {len(opened)}")
    assert load.refused, "the broker outage was not seen by the load"
    assert not opened


def test_postgresql_stopped_and_started_during_load(pipe):
    t = office(pipe)
    with Load(t) as load:
        time.sleep(3)
        stack_script("stack_pg_down")
        # ingest needs Kafka only: webhooks are still acknowledged while PostgreSQL is away.
        time.sleep(1)
        r = requests.post(t.url, data=uis_body(new_call_id(), "RINGING", "79260000999", "101"),
                          timeout=10)
        pg_down_status = r.status_code
        time.sleep(3)
        assert pipe.services["crm-writer"].ops("/readyz").status_code == 503
        stack_script("stack_pg_up")
        time.sleep(3)
    counts = check_outcome(t, load)
    print(f"postgresql restarted: calls {counts[0]}, contacts {counts[1]}, tasks {counts[3]}")
    assert pg_down_status == 200


def test_notifier_replica_killed_users_reconnect_and_replay(pipe):
    t = office(pipe)
    port2 = free_port()
    second = Service("notifier", dict(pipe.services["notifier"].env, HTTP_PORT=str(port2))).start()
    try:
        first = SSE(pipe.notifier_url, t.token("anna"))
        cid = new_call_id()
        t.post(cid, "RINGING", "79260001000", "101")
        wait_until(lambda: first.states(cid) == ["ringing"], what="ringing on replica 1")
        last_id = first.events[-1][0]
        pipe.services["notifier"].stop(signal.SIGKILL)
        first.close()
        t.post(cid, "ANSWERED", "79260001000", "101")
        t.post(cid, "HANGUP", "79260001000", "101", "https://rec.example/x")
        again = SSE(f"http://127.0.0.1:{port2}", t.token("anna"), last_event_id=last_id)
        wait_until(lambda: again.states(cid) == ["in_call", "closed"],
                   what="the missed transitions replayed once on replica 2")
        again.close()
    finally:
        second.stop()
        pipe.services["notifier"].start(ready_timeout=60)
