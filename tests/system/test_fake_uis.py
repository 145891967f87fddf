"""The fake UIS itself, against UIS's documented behaviour (no stack needed): if the fake drifts
from the reference, every reconciler test built on it proves nothing."""
import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fake_uis"))
import calls as uis_calls  # noqa: E402
import fake_uis  # noqa: E402


@pytest.fixture
def fake():
    server, state = fake_uis.serve(0, minute_seconds=2)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, state
    server.shutdown()
    server.server_close()


def rpc(base, method, params, endpoint="/v2.0", rid=1):
    return uis_calls.post_json(base + endpoint, {"jsonrpc": "2.0", "id": rid, "method": method,
                                                 "params": params})


def mnemonic(answer):
    return answer["error"]["data"]["mnemonic"]


def account(base, token="tok", **kw):
    uis_calls.post_json(base + "/_fake/account", {"token": token, **kw})


def test_protocol_errors(fake):
    base, _ = fake
    import urllib.request
    req = urllib.request.Request(base + "/v2.0", data=b"{not json", method="POST")
    with urllib.request.urlopen(req) as resp:
        import json
        assert resp.status == 200
        assert json.loads(resp.read())["error"]["code"] == -32700
    assert mnemonic(uis_calls.post_json(base + "/v2.0", [{"jsonrpc": "2.0"}])) == \
        "batch_opreations_not_supported"
    assert mnemonic(uis_calls.post_json(base + "/v2.0", {"jsonrpc": "2.0", "method": "get.account",
                                                         "params": {}})) == \
        "notifications_not_supported"
    assert mnemonic(rpc(base, "get.nothing", {"access_token": "x"})) == "method_not_found"
    assert mnemonic(rpc(base, "start.employee_call", {"access_token": "x"})) == "method_not_found"


def test_key_ip_account_errors(fake):
    base, _ = fake
    account(base, "good", timezone="Asia/Yekaterinburg", name="Acme")
    ok = rpc(base, "get.account", {"access_token": "good"})
    assert ok["result"]["data"] == [{"app_id": 1000, "name": "Acme",
                                     "timezone": "Asia/Yekaterinburg"}]
    assert ok["result"]["metadata"]["limits"]["minute_remaining"] == 999
    wrong = rpc(base, "get.account", {"access_token": "nope"})
    assert wrong["error"]["code"] == -32001 and mnemonic(wrong) == "access_token_invalid"
    account(base, "blocked", key_status="blocked")
    assert mnemonic(rpc(base, "get.account", {"access_token": "blocked"})) == \
        "access_token_blocked"
    account(base, "expired", key_status="expired")
    assert mnemonic(rpc(base, "get.account", {"access_token": "expired"})) == \
        "access_token_expired"
    account(base, "far", allowed_ips=["10.0.0.0/8"])
    denied = rpc(base, "get.account", {"access_token": "far"})
    assert denied["error"]["code"] == -32003 and mnemonic(denied) == "ip_not_whitelisted"
    account(base, "off", active=False)
    assert mnemonic(rpc(base, "get.account", {"access_token": "off"})) == "account_inactive"
    # Refused calls cost nothing.
    assert rpc(base, "get.account", {"access_token": "good"})["result"]["metadata"]["limits"][
        "minute_remaining"] == 998


def test_limits_and_reset(fake):
    base, _ = fake
    account(base, minute_limit=2, day_limit=100)
    for left in (1, 0):
        assert rpc(base, "get.account", {"access_token": "tok"})["result"]["metadata"][
            "limits"]["minute_remaining"] == left
    over = rpc(base, "get.account", {"access_token": "tok"})
    assert over["error"]["code"] == -32029 and mnemonic(over) == "limit_exceeded"
    limits = over["error"]["data"]["metadata"]["limits"]
    assert limits["minute_remaining"] == 0 and 1 <= limits["minute_reset"] <= 2
    import time
    time.sleep(limits["minute_reset"] + 0.1)
    assert "result" in rpc(base, "get.account", {"access_token": "tok"})


def test_calls_report_rules(fake):
    base, _ = fake
    account(base)
    t0 = dt.datetime(2026, 3, 1, 10, 0, 0)
    rows = [uis_calls.make_call(5000 + i, t0 + dt.timedelta(minutes=i),
                                employees=[{"id": 1, "full_name": "A"}]) for i in range(25)]
    ongoing = dict(rows[-1], id=6000, finish_time=None)
    uis_calls.post_json(base + "/_fake/calls", {"token": "tok", "calls": rows + [ongoing]})
    p = {"access_token": "tok", "date_from": "2026-03-01 00:00:00",
         "date_till": "2026-03-01 23:59:59"}
    assert mnemonic(rpc(base, "get.calls_report", {"access_token": "tok"})) == \
        "required_parameter_missed"
    assert mnemonic(rpc(base, "get.calls_report", dict(p, date_from="2026-03-01"))) == \
        "invalid_parameter_value"
    assert mnemonic(rpc(base, "get.calls_report", dict(p, date_from="2025-11-30 23:59:59"))) == \
        "date_interval_limit_reached"
    assert "result" in rpc(base, "get.calls_report", dict(p, date_from="2025-12-01 23:59:59"))
    assert mnemonic(rpc(base, "get.calls_report", dict(p, limit=10001))) == \
        "invalid_parameter_value"
    assert mnemonic(rpc(base, "get.calls_report", dict(p, offset=100001))) == \
        "invalid_parameter_value"
    assert mnemonic(rpc(base, "get.calls_report", dict(p, fields=["id", "nope"]))) == \
        "unexpected_parameters"
    assert mnemonic(rpc(base, "get.calls_report", dict(p, bogus=1))) == "unexpected_parameters"
    # Paging: total_items counts them all; ongoing calls only on request.
    seen = []
    for offset in (0, 10, 20):
        ans = rpc(base, "get.calls_report", dict(p, offset=offset, limit=10, fields=["id"]))
        assert ans["result"]["metadata"]["total_items"] == 25
        seen += [r["id"] for r in ans["result"]["data"]]
    assert seen == [5000 + i for i in range(25)]
    assert rpc(base, "get.calls_report", dict(p, include_ongoing_calls=True))["result"][
        "metadata"]["total_items"] == 26
    # Filters and sort.
    flt = {"filters": [{"field": "id", "operator": ">=", "value": 5020},
                       {"field": "is_lost", "operator": "=", "value": False}],
           "condition": "and"}
    ans = rpc(base, "get.calls_report", dict(p, filter=flt, fields=["id"],
                                             sort=[{"field": "id", "order": "desc"}]))
    assert [r["id"] for r in ans["result"]["data"]] == [5024, 5023, 5022, 5021, 5020]
    assert mnemonic(rpc(base, "get.calls_report", dict(
        p, filter={"field": "employees", "operator": "=", "value": 1}))) == "filter_prohibited"


def test_employees_and_call_api(fake):
    base, _ = fake
    account(base, virtual_numbers=["74993482958"])
    uis_calls.post_json(base + "/_fake/employees", {"token": "tok", "employees": [
        {"id": 11, "full_name": "Иванов Иван", "extension": "112"},
        {"id": 12, "full_name": "Петрова Анна", "extension": "113"}]})
    ans = rpc(base, "get.employees", {"access_token": "tok", "limit": 1, "offset": 1})
    assert ans["result"]["metadata"]["total_items"] == 2
    assert ans["result"]["data"][0]["extension"]["extension_phone_number"] == "113"
    call = {"access_token": "tok", "first_call": "employee", "virtual_phone_number": "74993482958",
            "contact": "79031112233", "employee": {"id": 11}, "direction": "out"}
    ok = rpc(base, "start.employee_call", call, endpoint="/v4.0")
    assert ok["result"]["data"]["call_session_id"] > 0
    assert mnemonic(rpc(base, "start.employee_call", dict(call, employee={"id": 99}),
                        endpoint="/v4.0")) == "employee_not_found"
    assert mnemonic(rpc(base, "start.employee_call", dict(call, virtual_phone_number="7000"),
                        endpoint="/v4.0")) == "virtual_phone_number_not_found"
    account(base, call_api=False)
    assert mnemonic(rpc(base, "start.employee_call", call, endpoint="/v4.0")) == \
        "method_component_disabled"


def test_notifications_as_templates_write_them():
    row = uis_calls.make_call(2981734650, dt.datetime(2026, 3, 1, 10, 0),
                              employees=[{"id": 1, "full_name": "A"}, {"id": 2, "full_name": "B"}],
                              records=2)
    states = [s for s, _ in uis_calls.notifications(row, {1: "112", 2: "113"})]
    assert states == ["RINGING", "RINGING", "ANSWERED", "HANGUP", "HANGUP"]
    body = uis_calls.notifications(row, {1: "112"})[1][1]
    assert '"user_extension":,' in body and '"direction":in,' in body
    lost = uis_calls.make_call(7, dt.datetime(2026, 3, 1, 10, 0), kind="lost", contact="")
    bodies = uis_calls.notifications(lost, {})
    assert [s for s, _ in bodies] == ["RINGING", "MISSED"]
    assert '"from_number":,' in bodies[1][1] and '"user_extension":null' in bodies[1][1]
