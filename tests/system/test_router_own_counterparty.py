"""A counterparty that a call itself made the writer create never changes that call's decisions
(issue 15), not even when the router decides the call's first notification again after a crash
— by then the writer may have applied the create. Any later call from the number finds it."""
import pytest

from router_support import Reader, Router, Tenant, ensure_schema, event, producer, send, uid


@pytest.fixture
def topics(stack, new_topic):
    ensure_schema(stack)
    return {"events": new_topic("rt.events", 3), "actions": new_topic("rt.actions", 3),
            "popups": new_topic("rt.popups", 3), "dlq": new_topic("rt.dlq", 1)}


def test_the_calls_own_counterparty_is_not_its_counterparty(stack, topics, tmp_path):
    t = Tenant(stack, {"anna": "Анна", "ivan": "Иван"}, extensions={"101": "anna", "102": "ivan"},
               notify_responsible_only=True)
    first, later = "8100000001", "8100000002"  # call ids are per tenant: a new tenant each run
    number = "+7903555" + str(int(uid("")[-6:], 16) % 10000).rjust(4, "0")
    # As the writer left it after applying this call's create (responsible ivan, the answering
    # leg) before the router's batch was committed.
    t.sql("INSERT INTO counterparties (tenant_id, name, mobile_phone, responsible_user_id,"
          " auto_created_number, created_by_call_id) VALUES (%s, %s, %s, %s, %s, %s)",
          t.id, number, number, t.users["ivan"], number, first)
    router = Router(stack, topics, tmp_path / "router.log").start()
    popups, actions = Reader(stack, topics["popups"]), Reader(stack, topics["actions"])
    try:
        send(producer(stack), topics["events"], [event(t.id, first, "RINGING", number, "101")])
        pm = popups.until(lambda m: len(m) >= 1, what="the first call's popup")
        am = actions.until(lambda m: len(m) >= 1, what="the first call's contact")
        # Unknown caller for this call: its ringing extension's user, and a "create" that the
        # writer resolves to the same counterparty.
        assert [(m["value"]["user_id"], m["value"]["counterparty"]) for m in pm] == \
            [(t.users["anna"], None)]
        assert am[0]["value"]["counterparty"]["mode"] == "create"
        send(producer(stack), topics["events"], [event(t.id, later, "RINGING", number, "101")])
        pm = popups.until(lambda m: len(m) >= 2, what="the later call's popup")
        shown = pm[-1]["value"]
        # The next call knows the caller: the responsible only.
        assert shown["call_id"] == later and shown["user_id"] == t.users["ivan"]
        assert shown["counterparty"]["name"] == number
    finally:
        router.stop()
        popups.close()
        actions.close()
