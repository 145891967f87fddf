"""Every rule of SPEC §4 and every setting of §3, end to end on the real stack (issue 8):
webhooks as UIS sends them → popups on SSE for exactly the right users → rows through crmctl."""
import itertools
import random
import time

import pytest

from pipeline_stack import Pipeline, new_call_id, wait_until
from harness import binary, needs_binaries

pytestmark = needs_binaries(binary("ingest"), binary("router"), binary("crm-writer"),
                            binary("notifier"), binary("crmctl"))

A, B = "79031112233", "79161234567"  # callers as UIS sends them (bare digits)
A164, B164 = "+79031112233", "+79161234567"
REC = "https://app.uiscom.ru/system/media/talk/{}/0f4e2a/"


@pytest.fixture(scope="module")
def pipe(stack):
    with Pipeline.on_own_topics(stack) as p:
        yield p
    assert all(c == 0 for c in p.exit_codes.values()), \
        (p.exit_codes, {n: s.logs() for n, s in p.services.items()})


def office(pipe, **settings):
    """A tenant with three users on extensions 101-103, employees anna and boris."""
    t = pipe.tenant(**settings)
    t.user("anna", "Анна", "101")
    t.user("boris", "Борис", "102")
    t.user("clara", "Клара", "103")
    t.employees("anna", "boris")
    return t


def answered_call(t, frm, ring_ext, answer_ext, cid=None):
    cid = cid or new_call_id()
    t.post(cid, "RINGING", frm, ring_ext)
    t.post(cid, "ANSWERED", frm, answer_ext)
    t.post(cid, "HANGUP", frm, answer_ext, REC.format(cid))
    return cid


def final_contact(t, cid, state="completed"):
    return wait_until(lambda: (c := t.contact(cid)) and c["state"] == state and c,
                      what=f"contact {cid} {state}")


def test_responsible_only_known_caller_goes_to_responsible(pipe):
    t = office(pipe, notify_responsible_only=True)
    cp = t.counterparty("ООО Ромашка", work="+7 (903) 111-22-33", responsible="clara")
    streams = {u: t.stream(u) for u in ("anna", "boris", "clara")}
    cid = answered_call(t, A, "101", "101")
    c = final_contact(t, cid)
    wait_until(lambda: "closed" in streams["clara"].states(cid), what="clara's popup closed")
    assert streams["clara"].states(cid)[0] == "ringing"
    # Ringing went to the responsible only; whoever answers sees the call while talking.
    assert streams["anna"].states(cid) == ["in_call", "closed"]
    assert streams["boris"].states(cid) == []
    pop = streams["clara"].popups()[0]
    assert pop["counterparty"]["id"] == cp and pop["caller"]["formatted"] == "+7 (903) 111-22-33"
    assert c["counterparty_id"] == cp and c["caller"] == A164
    assert c["answered_by"] == t.users["anna"]
    assert c["record_urls"] == [REC.format(cid)]


def test_responsible_only_off_extension_user_gets_it(pipe):
    t = office(pipe, notify_responsible_only=False)
    t.counterparty("ООО Ромашка", work=A164, responsible="clara")
    streams = {u: t.stream(u) for u in ("anna", "boris", "clara")}
    cid = answered_call(t, A, "102", "102")
    final_contact(t, cid)
    wait_until(lambda: "closed" in streams["boris"].states(cid), what="boris closed")
    assert streams["boris"].states(cid)[:2] == ["ringing", "in_call"]
    assert streams["clara"].states(cid) == [] and streams["anna"].states(cid) == []


@pytest.mark.parametrize("ext", ["", "199"], ids=["absent", "unmapped"])
def test_absent_or_unmapped_extension_goes_to_every_employee(pipe, ext):
    t = office(pipe, notify_responsible_only=True)  # unknown caller: rule 1 cannot apply
    streams = {u: t.stream(u) for u in ("anna", "boris", "clara")}
    cid = new_call_id()
    t.post(cid, "RINGING", B, ext)
    wait_until(lambda: streams["anna"].states(cid) and streams["boris"].states(cid),
               what="both employees ringing")
    t.post(cid, "MISSED", B)
    wait_until(lambda: streams["anna"].states(cid)[-1:] == ["closed"] and
               streams["boris"].states(cid)[-1:] == ["closed"], what="closed on missed")
    assert streams["clara"].states(cid) == []


def test_group_ringing_answered_by_second_leg(pipe):
    t = office(pipe)
    streams = {u: t.stream(u) for u in ("anna", "boris", "clara")}
    cid = new_call_id()
    t.post(cid, "RINGING", B, "101")
    t.post(cid, "RINGING", B, "102")
    wait_until(lambda: streams["anna"].states(cid) and streams["boris"].states(cid),
               what="two legs ringing")
    t.post(cid, "ANSWERED", B, "102")
    wait_until(lambda: "in_call" in streams["boris"].states(cid), what="boris in call")
    wait_until(lambda: streams["anna"].states(cid)[-1:] == ["closed"], what="anna closed")
    t.post(cid, "HANGUP", B, "102", REC.format(cid))
    wait_until(lambda: streams["boris"].states(cid)[-1:] == ["closed"], what="boris closed")
    assert streams["clara"].states(cid) == []
    assert final_contact(t, cid)["answered_by"] == t.users["boris"]


def test_unknown_caller_gets_a_new_counterparty_once(pipe):
    t = office(pipe)
    c1 = answered_call(t, "89257654321", "103", "103")
    c2 = answered_call(t, "+7 925 765-43-21", "101", "101")
    final_contact(t, c1)
    final_contact(t, c2)
    auto = [c for c in t.list("counterparties") if c["auto_created"]]
    assert len(auto) == 1
    assert auto[0]["mobile_phone"] == "+79257654321"
    assert auto[0]["name"] == "+7 (925) 765-43-21"
    assert auto[0]["responsible_user_id"] == t.users["clara"]  # the first call's extension user
    assert t.contact(c1)["counterparty_id"] == t.contact(c2)["counterparty_id"] == auto[0]["id"]


def test_unknown_caller_to_fixed_counterparty(pipe):
    t = office(pipe)
    fixed = t.counterparty("Неизвестные клиенты")
    t.set(unknown_to_fixed_counterparty=True, fixed_counterparty_id=fixed)
    cid = answered_call(t, "79250000001", "101", "101")
    assert final_contact(t, cid)["counterparty_id"] == fixed
    assert not [c for c in t.list("counterparties") if c["auto_created"]]


def test_hidden_number_never_matches_or_creates(pipe):
    t = office(pipe)
    streams = {u: t.stream(u) for u in ("anna",)}
    cid = answered_call(t, "", "101", "101")
    c = final_contact(t, cid)
    assert c["caller"] is None and c["counterparty_id"] is None
    assert not [x for x in t.list("counterparties") if x["auto_created"]]
    wait_until(lambda: streams["anna"].states(cid)[-1:] == ["closed"], what="hidden popup closed")
    assert streams["anna"].popups()[0]["caller"] is None
    fixed = t.counterparty("Скрытые номера")
    t.set(unknown_to_fixed_counterparty=True, fixed_counterparty_id=fixed)
    time.sleep(6)  # the router's settings cache (DIRECTORY_TTL_MS 5 s)
    cid2 = answered_call(t, "", "101", "101")
    assert final_contact(t, cid2)["counterparty_id"] == fixed


def test_recording_goes_to_last_active_deal_only(pipe):
    t = office(pipe)
    cp = t.counterparty("ООО Ромашка", work=A164, responsible="anna")
    older = t.deal(cp, "Старая открытая", "open", "2026-01-01T10:00:00Z")
    newest = t.deal(cp, "Новая открытая", "open", "2026-06-01T10:00:00Z")
    for stage in ("won", "lost", "closed"):
        t.deal(cp, f"Сделка {stage}", stage, "2026-11-01T10:00:00Z")
    cid = answered_call(t, A, "101", "101")
    entries = wait_until(lambda: [h for h in t.list("deal-history") if h["call_id"] == cid],
                         what="deal history entry")
    assert len(entries) == 1 and entries[0]["deal_id"] == newest != older
    assert entries[0]["record_urls"] == [REC.format(cid)]
    assert entries[0]["user_id"] == t.users["anna"]


def test_no_open_deal_adds_nothing(pipe):
    t = office(pipe)
    cp = t.counterparty("ИП Петров", mobile="8 916 123-45-67", responsible="boris")
    t.deal(cp, "Выиграна", "won")
    cid = answered_call(t, B, "102", "102")
    final_contact(t, cid)
    pipe.settle()
    assert [h for h in t.list("deal-history") if h["call_id"] == cid] == []


def test_missed_call_task_to_responsible_or_first_employee(pipe):
    t = office(pipe)
    t.counterparty("ИП Петров", mobile=B164, responsible="clara")
    known, unknown = new_call_id(), new_call_id()
    t.post(known, "RINGING", B, "")
    t.post(known, "MISSED", B)
    t.post(unknown, "RINGING", "79250000002", "")
    t.post(unknown, "MISSED", "79250000002")
    tasks = wait_until(lambda: len(t.list("tasks")) == 2 and t.list("tasks"), what="two tasks")
    by_call = {x["call_id"]: x for x in tasks}
    assert by_call[known]["assignee_user_id"] == t.users["clara"]
    assert by_call[unknown]["assignee_user_id"] == t.users["anna"]
    assert all(x["title"] == "Пропущенный звонок" for x in tasks)
    assert final_contact(t, known, "missed")


def test_settings_off_create_nothing(pipe):
    t = office(pipe, create_contact_on_call=False, create_missed_call_task=False,
               add_call_to_last_active_deal=False)
    cp = t.counterparty("ООО Ромашка", work=A164, responsible="anna")
    t.deal(cp, "Открытая", "open")
    stream = t.stream("anna")
    cid = answered_call(t, A, "101", "101")
    missed = new_call_id()
    t.post(missed, "RINGING", A, "101")
    t.post(missed, "MISSED", A)
    wait_until(lambda: stream.states(missed)[-1:] == ["closed"], what="popups still work")
    pipe.settle()
    assert t.list("contacts") == [] and t.list("tasks") == [] and t.list("deal-history") == []
    assert cid in {p["call_id"] for p in stream.popups()}


def test_two_simultaneous_calls_from_one_new_number(pipe):
    t = office(pipe)
    c1, c2 = new_call_id(), new_call_id()
    import threading

    threads = [threading.Thread(target=answered_call, args=(t, "79257777777", "101", "101", c))
               for c in (c1, c2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    final_contact(t, c1)
    final_contact(t, c2)
    auto = [c for c in t.list("counterparties") if c["auto_created"]]
    assert len(auto) == 1


def _final_state(t):
    def strip(rows, keys):
        return sorted(tuple(str(r.get(k)) for k in keys) for r in rows)

    # Ids differ between tenants: compare counterparties by number and users by login.
    cps = {c["id"]: c["mobile_phone"] or c["work_phone"] for c in t.list("counterparties")}
    login = {uid: name for name, uid in t.users.items()}
    contacts = [dict(c, counterparty=cps.get(c["counterparty_id"]),
                     answered=login.get(c["answered_by"])) for c in t.list("contacts")]
    return (
        strip(contacts, ["call_id", "state", "caller", "counterparty", "answered", "record_urls"]),
        strip([dict(x, counterparty=cps.get(x["counterparty_id"]),
                    assignee=login.get(x["assignee_user_id"])) for x in t.list("tasks")],
              ["call_id", "title", "assignee", "counterparty"]),
        sorted(v for v in cps.values() if v),
        strip([dict(h, user=login.get(h["user_id"])) for h in t.list("deal-history")],
              ["call_id", "record_urls", "user"]),
    )


def _call_mix(t):
    """(call_id, [notifications]) for a realistic mix; numbers known and new."""
    calls = []
    for i in range(6):
        cid = new_call_id()
        frm = [A, B, "79250000100", "79250000101"][i % 4]
        if i % 3 == 2:
            calls.append((cid, [(cid, "RINGING", frm, ""), (cid, "MISSED", frm, None)]))
        else:
            calls.append((cid, [(cid, "RINGING", frm, "101"), (cid, "RINGING", frm, "102"),
                                (cid, "ANSWERED", frm, "102"),
                                (cid, "HANGUP", frm, "102", REC.format(cid))]))
    return calls


@pytest.mark.parametrize("delivery", ["in_order", "duplicated", "shuffled"])
def test_same_outcome_whatever_order_or_repetition(pipe, delivery):
    """The same calls delivered in order, twice each, or shuffled within each call (recordings
    'late') give an identical CRM state. Two tenants get the same call ids (ids are per tenant)."""
    results = {}
    rnd = random.Random(7)
    mix = _call_mix(None)
    for mode in ("in_order", delivery):
        t = office(pipe)
        cp = t.counterparty("ООО Ромашка", work=A164, responsible="anna")
        t.deal(cp, "Открытая", "open")
        t.counterparty("ИП Петров", mobile=B164, responsible="clara")
        for cid, notes in mix:
            seq = list(notes)
            if mode == "duplicated":
                seq = list(itertools.chain.from_iterable((n, n) for n in seq))
            elif mode == "shuffled":
                rnd.shuffle(seq)
            for n in seq:
                t.post(*n)
        wait_until(lambda: len(t.list("contacts")) == len(mix) and all(
            c["state"] in ("completed", "missed") for c in t.list("contacts")) and
            len(t.list("tasks")) == 2 and len(t.list("deal-history")) == 2,
            timeout=40, what="mix applied")
        pipe.settle()
        results[mode] = _final_state(t)
    assert results["in_order"] == results[delivery]
    assert len(results[delivery][0]) == len(mix)



def test_dead_letter_replayed_after_the_fix(pipe):
    """An event for a tenant the CRM does not know yet goes to the dead-letter topic with its
    reason; once the tenant is installed, `crmctl dlq replay` sends it back and it is applied."""
    import json
    import uuid

    from confluent_kafka import Producer

    from pipeline_support import consume

    tid = f"t{uuid.uuid4().hex[:10]}"
    cid = new_call_id()
    event = {"call_id": cid, "call_state": "MISSED", "direction": "in",
             "from_number": "+79250004444", "from_number_raw": "79250004444",
             "diversion": "+74993482958", "diversion_raw": "74993482958",
             "user_extension": None, "call_record_urls": [], "tenant": tid,
             "received_at": "2026-11-25T10:00:00.000Z", "event_id": str(uuid.uuid4())}
    p = Producer({"bootstrap.servers": pipe.stack["brokers"]})
    p.produce(pipe.topics["TOPIC_CALL_EVENTS"], key=f"{tid}:+79250004444",
              value=json.dumps(event), headers=[
                  ("ce_specversion", "1.0"), ("ce_id", event["event_id"]),
                  ("ce_type", "ru.uis.call.missed"), ("ce_source", f"/v1/uis/{tid}"),
                  ("ce_time", event["received_at"]), ("content-type", "application/json"),
                  ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
    assert p.flush(15) == 0
    dead = wait_until(lambda: [m for m in consume(pipe.stack["brokers"], pipe.topics["TOPIC_DLQ"],
                                                  100, timeout=3)
                               if m["value"] and m["value"].get("tenant") == tid],
                      timeout=60, what="the dead letter")
    assert "tenant" in dead[0]["headers"]["dlq_reason"]
    assert dead[0]["headers"]["dlq_source_topic"] == pipe.topics["TOPIC_CALL_EVENTS"]

    t = pipe.tenant(tid)  # the fix
    t.user("anna", "Анна", "101")
    t.employees("anna")
    dry = pipe.ctl("dlq", "replay", "--dry-run")
    assert "would replay" in dry and "reason" in dry
    assert t.list("contacts") == []  # a dry run changes nothing
    out = pipe.ctl("dlq", "replay")
    assert "replayed" in out
    wait_until(lambda: (c := t.contact(cid)) and c["state"] == "missed", what="replayed contact")
    task = wait_until(lambda: t.list("tasks"), what="replayed task")
    assert task[0]["assignee_user_id"] == t.users["anna"]
    # A second run finds nothing new: the group remembers.
    assert "replayed 0," in pipe.ctl("dlq", "replay")


PRODUCT_TOPIC = {
    "TOPIC_CALL_EVENTS": "uis.call-events.v1",
    "TOPIC_REJECTED": "uis.call-events.rejected.v1",
    "TOPIC_ACTIONS": "crm.call-actions.v1",
    "TOPIC_POPUPS": "crm.popups.v1",
    "TOPIC_CONTACTS": "crm.contacts.v1",
    "TOPIC_TENANT_TOKENS": "crm.tenant-tokens.v1",
}


def test_every_message_on_every_topic_fits_proto(pipe):
    """Runs after the scenarios above (pytest keeps file order): everything they made."""
    import sys
    from pathlib import Path

    from confluent_kafka import Consumer, TopicPartition

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proto"))
    import schemas

    checked = {}
    for env_name, product in PRODUCT_TOPIC.items():
        topic = pipe.topics[env_name]
        c = Consumer({"bootstrap.servers": pipe.stack["brokers"], "group.id": "schema-check",
                      "enable.auto.commit": False, "isolation.level": "read_committed"})
        md = c.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for p in md.partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > lo:
                ends[p] = hi
        c.assign([TopicPartition(topic, p, 0) for p in ends])
        n = 0
        while ends:
            m = c.poll(5)
            assert m is not None, f"{topic}: stopped before the end"
            if m.error():
                continue
            if m.value() is not None or product == "crm.tenant-tokens.v1":
                schemas.validate(product, m.value())
                schemas.validate_headers(product, m.headers())
                schemas.validate_key(product, m.key())
                n += 1
            if m.offset() + 1 >= ends.get(m.partition(), 0):
                ends.pop(m.partition(), None)
        c.close()
        checked[product] = n
    print("messages checked against proto/:", checked)
    for product in ("uis.call-events.v1", "crm.call-actions.v1", "crm.popups.v1",
                    "crm.contacts.v1", "crm.tenant-tokens.v1", "uis.call-events.rejected.v1"):
        assert checked[product] > 0, product
