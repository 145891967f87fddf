"""Click-to-call's immediate refusals (issue 18): POST /v1/calls answers 409 when the compacted
topic crm.dial-readiness.v1 says the call cannot be placed (the tenant has no UIS API key, the
user is linked to no UIS employee), on the real stack with the fake UIS. crmctl publishes what
its commands change; the reconciler publishes every tenant at start. What no record names is
still accepted (test_click_to_call.py: the dialer refuses it)."""
import sys
import uuid

from pipeline_stack import wait_until
from pipeline_support import consume
from test_click_to_call import (VIRTUAL, call, ctl, result, start_dialer, uis_calls_of,  # noqa: F401
                                uis_tenant, world)
from pipeline_support import REPO
from uis_support import new_key

sys.path.insert(0, str(REPO / "tests" / "proto"))
import schemas  # noqa: E402


def readiness(pipe, key):
    """The latest dial-readiness record of key on the pipeline's topic."""
    topic = pipe.topics["TOPIC_DIAL_READINESS"]
    msgs = consume(pipe.stack["brokers"], topic, 10000, timeout=3)
    for m in msgs:
        schemas.validate("crm.dial-readiness.v1", m["value"])
        schemas.validate_key("crm.dial-readiness.v1", m["key"])
        schemas.validate_headers("crm.dial-readiness.v1", list(m["headers"].items()))
    found = [m["value"] for m in msgs if m["key"] == key]
    return found[-1] if found else None


def answer(pipe, t, login, status, error=None, seen=None):
    """POST until the notifier answers status (and error): it follows the topic within a
    moment. The response; every answer is appended to seen."""
    seen = [] if seen is None else seen

    def asked():
        r = call(pipe, t, login, {"phone": "89161234567"})
        seen.append(r)
        ok = r.status_code == status and (error is None or r.json().get("error") == error)
        return [r] if ok else None  # a Response of a 4xx is falsy
    return wait_until(asked, 30, what=f"{login}'s request to be answered {status} {error}")[0]


def test_not_linked_is_refused_at_once_and_linking_later_calls(stack, world):
    t = uis_tenant(world)
    start_dialer(world)
    # crmctl's commands published the tenant: a key, anna linked to 11, ivan to no one
    assert readiness(world, t.id) == {"tenant": t.id, "uis_key": True}
    assert readiness(world, f"{t.id}/{t.users['ivan']}")["uis_employee_id"] is None
    ivan_answers = []
    r = answer(world, t, "ivan", 409, "not_linked", ivan_answers)
    assert "not linked" in r.json()["reason"]
    # anna is linked: accepted and called, while ivan's refusals reached neither Kafka nor UIS
    s = t.stream("anna")
    r = call(world, t, "anna", {"phone": "89161234567"})
    assert r.status_code == 202, r.text
    assert result(s, r.json()["request_id"])["status"] == "calling"
    requests_seen = consume(world.stack["brokers"], world.topics["TOPIC_CALL_REQUESTS"], 100,
                            timeout=3)
    users = sorted(str(m["value"]["user_id"]) for m in requests_seen)
    ivan_accepted = sum(x.status_code == 202 for x in ivan_answers)
    assert users == sorted([str(t.users["anna"])] + [str(t.users["ivan"])] * ivan_accepted)
    # the admin links ivan to UIS employee 12: his next request is accepted and UIS called once
    ctl(world, "uis", "link", t.id, t.users["ivan"], 12)
    ivan = t.stream("ivan")
    r = answer(world, t, "ivan", 202)
    out = result(ivan, r.json()["request_id"])
    assert out["status"] == "calling", out
    made = [c for c in uis_calls_of(world, t) if c["params"]["employee"] == {"id": 12}]
    assert len(made) == 1 and made[0]["params"]["external_id"] == r.json()["request_id"], made


def test_a_tenant_without_a_key_is_refused_at_once_until_it_has_one(stack, world):
    t = uis_tenant(world, key=False)
    # nothing published it yet: accepted, and the dialer refuses
    s = t.stream("anna")
    r = call(world, t, "anna", {"phone": "89161234567"})
    assert r.status_code == 202, r.text
    # the reconciler publishes every tenant it serves when it starts
    start_dialer(world, RECONCILE_TENANTS=t.id)
    assert result(s, r.json()["request_id"])["reason"] == "no_uis_key"
    wait_until(lambda: readiness(world, t.id), what="the reconciler's publication")
    assert readiness(world, t.id) == {"tenant": t.id, "uis_key": False}
    answer(world, t, "anna", 409, "no_uis_key")
    # the admin enters a key and links anna: accepted, one UIS call
    t.key = new_key()
    t.app_id = int(uuid.uuid4().int % 10**6) + 10**6
    world.fake.account(t.key, app_id=t.app_id, name=f"Acc {t.id}", virtual_numbers=[VIRTUAL])
    world.fake.employees(t.key, [{"id": 11, "full_name": "Анна Петрова", "extension": "112"}])
    ctl(world, "tenant", "uis-key", t.id, stdin=t.key)
    ctl(world, "tenant", "set", t.id, f"uis_virtual_number=+{VIRTUAL}")
    answer(world, t, "anna", 409, "not_linked")  # a key now, but anna is linked to no one yet
    ctl(world, "uis", "employees", t.id)
    ctl(world, "uis", "link", t.id, t.users["anna"], 11)
    r = answer(world, t, "anna", 202)
    assert result(s, r.json()["request_id"])["status"] == "calling"
    assert len(uis_calls_of(world, t)) == 1
