"""Router on the real stack (issue 6): events in -> actions and popups out, valid against the
contract; dead letters; SIGKILL mid-stream loses and duplicates nothing (replays keep their ids).
Needs the router built in BUILD_DIR."""
import threading
import time

import jsonschema
import pytest

from router_support import (ACTION_SCHEMAS, POPUP_SCHEMA, TRACE_ID, Reader, Router, Tenant,
                            assert_popups_forward, ensure_schema, event, event_key, first_ids,
                            now_minus, producer, send, uid)
from harness import binary, needs_binaries

pytestmark = needs_binaries(binary("router"))


@pytest.fixture
def topics(stack, new_topic):
    ensure_schema(stack)
    return {"events": new_topic("rt.events", 3), "actions": new_topic("rt.actions", 3),
            "popups": new_topic("rt.popups", 3), "dlq": new_topic("rt.dlq", 1)}


@pytest.fixture
def office(stack):
    t = Tenant(stack, {"anna": "Анна", "ivan": "Иван", "olga": "Ольга", "petr": "Пётр",
                       "roza": "Роза"},
               employees=["olga", "petr"], extensions={"101": "anna", "102": "ivan"})
    t.known = "+79161234567"
    t.cp = t.counterparty("ООО Ромашка", mobile=t.known, responsible="roza")
    t.counterparty("ООО Ромашка (дубль)", work=t.known, responsible="petr")  # higher id: loses
    t.deal_recent = t.deal(t.cp, "Поставка", ago_s=10)
    t.deal(t.cp, "Старая", ago_s=100000)
    t.deal(t.cp, "Выиграна", stage="won", ago_s=0)
    return t


def by_call(msgs, call_id):
    return [m for m in msgs if m["value"]["call_id"] == call_id]


def test_rules_end_to_end(stack, topics, office, tmp_path):
    t, u = office, office.users
    router = Router(stack, topics, tmp_path / "router.log").start()
    popups, actions, dlq = (Reader(stack, topics[k]) for k in ("popups", "actions", "dlq"))
    try:
        a, b, c, d = (str(9000000000000000000 + i) for i in range(4))  # > 2^53
        unknown = "+79035550000"
        calls = [
            # A: known caller, answered on 101, recorded.
            event(t.id, a, "RINGING", t.known, "101", at=now_minus(60)),
            event(t.id, a, "ANSWERED", t.known, "101", at=now_minus(55)),
            event(t.id, a, "HANGUP", t.known, "101", ["https://rec.example/a.mp3"],
                  at=now_minus(1)),
            # B: unknown caller, group ringing, the ANSWERED on 102 arrives first.
            event(t.id, b, "ANSWERED", unknown, "102", at=now_minus(50)),
            event(t.id, b, "RINGING", unknown, "101", at=now_minus(58)),
            event(t.id, b, "RINGING", unknown, "102", at=now_minus(57)),
            event(t.id, b, "HANGUP", unknown, "102", ["https://rec.example/b.mp3"]),
            # C: unknown caller, no extension, missed.
            event(t.id, c, "RINGING", "+79035551111", None, at=now_minus(30)),
            event(t.id, c, "MISSED", "+79035551111", None),
            # D: hidden number on 101, missed.
            event(t.id, d, "RINGING", None, "101", at=now_minus(20)),
            event(t.id, d, "MISSED", None, None),
        ]
        dup = dict(calls[2], event_id="dup-" + calls[2]["event_id"])
        stranger = event("rt-nobody-" + uid("x")[3:], "1", "RINGING")
        send(producer(stack), topics["events"], calls + [dup, stranger],
             raw=[(f"{t.id}:junk".encode(), b'{"call_id": oops')])

        # A 3 + B 2 + C 4 + D 2 popup messages; A 4 + B 3 + C 3 + D 3 actions (B's second
        # RINGING changes nothing the writer keeps); 2 dead letters.
        popups.until(lambda m: len(m) >= 11, what="popups")
        actions.until(lambda m: len(m) >= 13, what="actions")
        dlq.until(lambda m: len(m) >= 2, what="dead letters")
        time.sleep(1.5)  # anything extra would show up now
        pm, am, dm = popups.poll(0.5), actions.poll(0.5), dlq.poll(0.5)
        assert len(pm) == 11 and len(am) == 13 and len(dm) == 2, (pm, am, dm)

        for m in pm:
            jsonschema.validate(m["value"], POPUP_SCHEMA)
            assert m["key"] == f"{t.id}:{m['value']['call_id']}"
            assert m["headers"]["ce_type"] == "ru.crm.popup." + m["value"]["action"]
        for m in am:
            jsonschema.validate(m["value"], ACTION_SCHEMAS[m["value"]["type"]])
            assert m["headers"]["ce_id"] == m["value"]["action_id"]
            assert m["headers"]["ce_type"] == "ru.crm.action." + m["value"]["type"]
        for m in pm + am:
            h = m["headers"]
            assert h["ce_specversion"] == "1.0" and h["content-type"] == "application/json"
            assert h["ce_source"].startswith("/router") and h["ce_time"]
            assert h["traceparent"].split("-")[1] == TRACE_ID  # the input's trace continues
        assert_popups_forward(pm)

        # A: the counterparty's lowest id, its most recently active open deal; anna's popup.
        pa = [(m["value"]["user_id"], m["value"]["action"], m["value"]["state"])
              for m in by_call(pm, a)]
        assert pa == [(u["anna"], "show", "ringing"), (u["anna"], "update", "in_call"),
                      (u["anna"], "close", "closed")]
        shown = by_call(pm, a)[0]["value"]
        assert shown["counterparty"] == {"id": t.cp, "name": "ООО Ромашка"}
        assert shown["responsible"] == {"id": u["roza"], "name": "Роза"}
        assert shown["deal"] == {"id": t.deal_recent, "title": "Поставка"}
        assert shown["caller"] == {"number": t.known, "formatted": "+7 (916) 123-45-67"}
        aa = by_call(am, a)
        assert [m["value"]["type"] for m in aa].count("contact.upsert") == 3
        hist = [m["value"] for m in aa if m["value"]["type"] == "deal.history.add"]
        assert len(hist) == 1 and hist[0]["deal_id"] == t.deal_recent
        assert hist[0]["user_id"] == u["anna"]
        assert hist[0]["record_urls"] == ["https://rec.example/a.mp3"]
        last = [m["value"] for m in aa if m["value"]["type"] == "contact.upsert"][-1]
        assert last["state"] == "completed" and last["answered_by"] == u["anna"]
        assert last["counterparty"] == {"mode": "existing", "id": t.cp}
        assert all(m["key"] == event_key(calls[0]) for m in aa)

        # B: ANSWERED first shows ivan's popup in call; the late RINGING re-opens nothing.
        pb = [(m["value"]["user_id"], m["value"]["action"], m["value"]["state"])
              for m in by_call(pm, b)]
        assert pb == [(u["ivan"], "show", "in_call"), (u["ivan"], "close", "closed")]
        cb = [m["value"] for m in by_call(am, b)]
        assert [v["type"] for v in cb] == ["contact.upsert"] * 3
        assert cb[0]["counterparty"] == {"mode": "create", "phone": unknown,
                                         "phone_raw": unknown[1:],
                                         "name": "+7 (903) 555-00-00",
                                         "responsible_user_id": u["ivan"]}
        assert cb[-1]["state"] == "completed" and cb[-1]["ringing_at"] is not None

        # C: no extension -> every settings employee; missed -> task for the first one.
        pc = sorted((m["value"]["user_id"], m["value"]["state"]) for m in by_call(pm, c))
        assert pc == sorted([(u["olga"], "ringing"), (u["petr"], "ringing"),
                             (u["olga"], "closed"), (u["petr"], "closed")])
        task = [m["value"] for m in by_call(am, c) if m["value"]["type"] == "task.missed_call"]
        assert len(task) == 1 and task[0]["assignee_user_id"] == u["olga"]
        assert task[0]["counterparty"]["mode"] == "create"

        # D: a hidden number is never matched nor created.
        cd = [m["value"] for m in by_call(am, d)]
        assert {v["counterparty"]["mode"] for v in cd} == {"none"}
        assert [v.get("caller", v.get("phone")) for v in cd] == [None, None, None]
        assert [m["value"]["state"] for m in by_call(pm, d)] == ["ringing", "closed"]

        reasons = sorted(m["headers"]["dlq_reason"] for m in dm)
        assert reasons[0].startswith("unknown tenant rt-nobody-")
        assert reasons[1].startswith("value: not JSON")
        assert all(m["headers"]["dlq_service"] == "router" for m in dm)

        rows = dict(t.sql("SELECT call_id, state::text FROM router_calls WHERE tenant_id = %s",
                          t.id))
        assert rows == {a: "completed", b: "completed", c: "missed", d: "missed"}
        assert router.metric("router_dlq_total") == 2
        assert router.metric("router_events_total") == 12
        assert router.metric("router_no_open_deal_total") == 1  # call B
    finally:
        assert router.stop() == 0
        for r in (popups, actions, dlq):
            r.close()


def test_settings_change_is_seen(stack, topics, office, tmp_path):
    """notify_responsible_only switched on: the cache follows settings_version."""
    t = office
    router = Router(stack, topics, tmp_path / "router.log", DIRECTORY_TTL_MS=200).start()
    popups = Reader(stack, topics["popups"])
    try:
        send(producer(stack), topics["events"], [event(t.id, "1", "RINGING", t.known, "101")])
        popups.until(lambda m: len(m) >= 1)
        t.set(notify_responsible_only=True)
        time.sleep(0.5)
        send(producer(stack), topics["events"], [event(t.id, "2", "RINGING", t.known, "101")])
        msgs = popups.until(lambda m: len(m) >= 2)
        assert [m["value"]["user_id"] for m in msgs] == [t.users["anna"], t.users["roza"]]
    finally:
        assert router.stop() == 0
        popups.close()


def test_sigkill_mid_stream_loses_and_duplicates_nothing(stack, topics, office, tmp_path):
    t = office
    anna = t.users["anna"]
    n_calls = 400
    events = []
    for i in range(n_calls):
        call, frm = str(7000000 + i), f"+7903{i:07d}"
        events.append([event(t.id, call, "RINGING", frm, "101", at=now_minus(30)),
                       event(t.id, call, "ANSWERED", frm, "101", at=now_minus(20)),
                       event(t.id, call, "HANGUP", frm, "101", [f"https://rec.example/{i}"])])
    flat = [ev for trio in zip(*events) for ev in trio]  # the calls interleave
    want_actions = {f"{t.id}:{ev['call_id']}:contact.upsert:{ev['event_id']}" for ev in flat}
    want_popups = {f"{t.id}:{7000000 + i}:{anna}:{s}"
                   for i in range(n_calls) for s in ("ringing", "in_call", "closed")}

    group, instance = uid("rt-group"), uid("router")
    topics = dict(topics, group=group, instance=instance)
    router = Router(stack, topics, tmp_path / "router.log", BATCH_MAX=8).start()
    popups, actions = Reader(stack, topics["popups"]), Reader(stack, topics["actions"])
    prod = producer(stack)

    def feed():
        for k in range(0, len(flat), 40):
            send(prod, topics["events"], flat[k:k + 40])
            time.sleep(0.05)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        popups.until(lambda m: len(m) >= 150, what="some popups before the kill")
        router.kill()
        killed_at = len(popups.poll(0.5))
        feeder.join()
        router = Router(stack, topics, tmp_path / "router.log", BATCH_MAX=8).start()
        popups.until(lambda m: {x["headers"]["ce_id"] for x in m} >= want_popups,
                     what="every popup after the restart")
        actions.until(lambda m: {x["headers"]["ce_id"] for x in m} >= want_actions,
                      what="every action after the restart")
        time.sleep(1.0)
        pm, am = popups.poll(0.5), actions.poll(0.5)
        assert killed_at < len(want_popups), "the kill came too late to test anything"
        assert {m["headers"]["ce_id"] for m in pm} == want_popups
        assert {m["headers"]["ce_id"] for m in am} == want_actions
        first_ids(am)  # repeats are exact replays
        assert_popups_forward(pm)
        print(f"popups {len(pm)} messages for {len(want_popups)} ids; "
              f"actions {len(am)} for {len(want_actions)}; killed after {killed_at}")
    finally:
        feeder.join()
        router.stop()
        popups.close()
        actions.close()
