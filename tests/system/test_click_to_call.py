"""Click-to-call (issue 18) on the real stack with the fake UIS: POST /v1/calls on the notifier
-> crm.call-requests.v1 -> the dialer (a thread of the reconciler's process) -> UIS's
start.employee_call -> the outcome on the requesting user's SSE stream. Exactly one UIS call per
request whatever the redeliveries and crashes; every refusal ends as the right Russian sentence."""
import json
import os
import subprocess
import sys
import uuid

import pytest
import requests
from confluent_kafka import Producer

import harness
from crm_writer_support import query
from pipeline_stack import CRMCTL, Pipeline, wait_until
from pipeline_support import REPO, Service, consume
from uis_support import FakeUis, new_key

VIRTUAL = "74993482958"
EMPLOYEES = [{"id": 11, "full_name": "Анна Петрова", "extension": "112"},
             {"id": 12, "full_name": "Иван Сидоров", "extension": "113"}]


@pytest.fixture
def world(stack):
    fake = FakeUis()
    with Pipeline.on_own_topics(stack) as pipe:
        pipe.fake = fake
        pipe.run = uuid.uuid4().hex[:6]
        pipe.dialers = []
        yield pipe
        for d in pipe.dialers:
            d.stop()
    fake.close()


def start_dialer(pipe, **env):
    """The reconciler's process with its dialer; its passes look at no tenant of these tests.
    Static membership: a restarted dialer takes its partitions back at once."""
    d = Service("reconciler", {**pipe.env, **pipe.fake.env(), "RECONCILE_TENANTS": "nobody",
                               "DIALER_GROUP": f"dial-{pipe.run}",
                               "INSTANCE_ID": f"dial-{pipe.run}-0",
                               **{k: str(v) for k, v in env.items()}})
    pipe.dialers.append(d)
    return d.start(ready_timeout=60)


def ctl(pipe, *args, stdin=None):
    out = subprocess.run([CRMCTL, *map(str, args)], input=stdin, capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, **pipe.env, **pipe.fake.env()))
    assert out.returncode == 0, out.stderr
    return out.stdout


def uis_tenant(pipe, key=True, **account):
    """Anna linked to UIS employee 11, Ivan to none; the account knows the virtual number."""
    t = pipe.tenant()
    t.user("anna", "Анна Петрова", ext="112")
    t.user("ivan", "Иван Сидоров", ext="113")
    t.employees("anna", "ivan")
    if not key:
        return t
    t.key = new_key()
    t.app_id = int(uuid.uuid4().int % 10**6) + 10**6
    pipe.fake.account(t.key, app_id=t.app_id, name=f"Acc {t.id}", virtual_numbers=[VIRTUAL],
                      **account)
    pipe.fake.employees(t.key, EMPLOYEES)
    ctl(pipe, "tenant", "uis-key", t.id, stdin=t.key)
    ctl(pipe, "uis", "employees", t.id)
    ctl(pipe, "uis", "link", t.id, t.users["anna"], 11)
    ctl(pipe, "tenant", "set", t.id, f"uis_virtual_number=+{VIRTUAL}")
    return t


def call(pipe, t, login, body, token=None, **headers):
    headers.setdefault("Content-Type", "application/json")
    headers.setdefault("Authorization", f"Bearer {token or t.token(login)}")
    return requests.post(pipe.notifier_url + "/v1/calls", data=json.dumps(body),
                         headers=headers, timeout=15)


def result(stream, request_id, timeout=30):
    """The call request's outcome as the user's stream delivered it."""
    def seen():
        return next((p for p in stream.popups() if p.get("request_id") == request_id), None)
    return wait_until(seen, timeout, what=f"the outcome of call request {request_id}")


def uis_calls_of(pipe, t):
    return [e for e in pipe.fake.log(t.app_id) if e["method"] == "start.employee_call"]


def row(stack, t, request_id):
    rows = query(stack, "SELECT status, reason, call_session_id, employee_id, virtual_number "
                 "FROM call_requests WHERE tenant_id = %s AND request_id = %s", t.id, request_id)
    return rows[0] if rows else None


def test_click_makes_exactly_one_call_with_the_right_parameters(stack, world):
    t = uis_tenant(world)
    start_dialer(world)
    s = t.stream("anna")
    r = call(world, t, "anna", {"phone": "8 (916) 123-45-67"})
    assert r.status_code == 202, r.text
    rid = r.json()["request_id"]
    out = result(s, rid)
    assert out["kind"] == "call_request" and out["status"] == "calling", out
    assert out["message"] == "Звоним…"
    assert out["phone"] == {"number": "+79161234567", "formatted": "+7 (916) 123-45-67"}
    made = uis_calls_of(world, t)
    assert len(made) == 1, made
    assert made[0]["outcome"] == "ok"
    assert made[0]["params"] == {"first_call": "employee", "virtual_phone_number": VIRTUAL,
                                 "contact": "79161234567", "employee": {"id": 11},
                                 "direction": "out", "external_id": rid}
    # the call_session_id ties the request to the call that follows
    assert out["call_id"] and out["call_id"].isdigit()
    assert row(stack, t, rid) == ("calling", None, out["call_id"], 11, "+" + VIRTUAL)
    # the request on the topic: key {tenant}:{user}, CloudEvents headers, E.164 number
    msg = consume(stack["brokers"], world.topics["TOPIC_CALL_REQUESTS"], 1)[0]
    assert msg["key"] == f"{t.id}:{t.users['anna']}"
    assert msg["headers"]["ce_id"] == rid and msg["headers"]["ce_type"] == "ru.crm.call.requested"
    assert msg["value"]["phone"] == "+79161234567"
    assert msg["value"]["phone_raw"] == "8 (916) 123-45-67"
    # both messages keep their contracts (proto/)
    sys.path.insert(0, str(REPO / "tests" / "proto"))
    import schemas
    schemas.validate("crm.call-requests.v1", msg["value"])
    schemas.validate_key("crm.call-requests.v1", msg["key"].encode())
    schemas.validate_headers("crm.call-requests.v1", msg["headers"])
    outcome = next(m for m in consume(stack["brokers"], world.topics["TOPIC_POPUPS"], 1)
                   if m["value"].get("request_id") == rid)
    schemas.validate("crm.popups.v1", outcome["value"])
    schemas.validate_key("crm.popups.v1", outcome["key"].encode())
    schemas.validate_headers("crm.popups.v1", outcome["headers"])


def crash_after_asking(stack, world, t, dialer, phone):
    """anna asks for phone; UIS answers slowly and the dialer is killed after asking, before
    it could record the answer; a new dialer starts. The request id."""
    asked = len(uis_calls_of(world, t))
    world.fake.delay(3)
    rid = call(world, t, "anna", {"phone": phone}).json()["request_id"]
    wait_until(lambda: (row(stack, t, rid) or ("",))[0] == "claimed",
               what="the dialer to claim the request")
    dialer.kill()
    wait_until(lambda: len(uis_calls_of(world, t)) == asked + 1, what="UIS to take the call")
    world.fake.delay(0)
    start_dialer(world)
    return rid


def test_duplicate_delivery_and_a_crash_after_asking_still_make_one_call(stack, world):
    t = uis_tenant(world)
    dialer = start_dialer(world)
    s = t.stream("anna")
    rid = call(world, t, "anna", {"phone": "+7 916 000-11-22"}).json()["request_id"]
    first = result(s, rid)
    assert first["status"] == "calling"
    # the same request delivered twice more (a producer retry, a replay)
    msg = consume(stack["brokers"], world.topics["TOPIC_CALL_REQUESTS"], 1)[0]
    p = Producer({"bootstrap.servers": stack["brokers"]})
    for _ in range(2):
        p.produce(world.topics["TOPIC_CALL_REQUESTS"], json.dumps(msg["value"]).encode(),
                  msg["key"].encode(), headers=list(msg["headers"].items()))
    p.flush(10)
    wait_until(lambda: harness.group_lag(stack["brokers"], world.topics["TOPIC_CALL_REQUESTS"],
                                         f"dial-{world.run}") == 0,
               what="the dialer to read the duplicates")
    assert len(uis_calls_of(world, t)) == 1

    # UIS answers slowly; the dialer dies after asking, before it could record the answer
    rid2 = crash_after_asking(stack, world, t, dialer, "89160003344")
    out = result(s, rid2, timeout=60)
    # UIS may have started the call: the request is never asked again, the manager is told
    assert out["status"] == "unknown" and out["reason"] == "no_answer", out
    assert out["message"] == "Нет ответа от UIS: звонок мог начаться, проверьте телефон"
    assert row(stack, t, rid2)[0] == "unknown"
    assert [c["params"]["external_id"] for c in uis_calls_of(world, t)] == [rid, rid2]


def test_an_unknown_request_is_resolved_by_the_calls_report(stack, world):
    """The dialer died between UIS's answer and recording it: the request is `unknown`. UIS's
    calls report names the call it started with the request id as call_api_external_id; the
    reconciler's pass marks the request `calling` with the call's session id and tells anna."""
    t = uis_tenant(world, timezone="Europe/Moscow")
    dialer = start_dialer(world)
    s = t.stream("anna")
    rid = crash_after_asking(stack, world, t, dialer, "89160005566")
    assert result(s, rid, timeout=60)["status"] == "unknown"
    world.dialers.pop().stop()
    # the call UIS started ends; the report lists it, naming the request
    session = world.fake.end_call(t.key, rid, talk=20)
    start_dialer(world, RECONCILE_TENANTS=t.id, RECONCILE_INTERVAL_S=1, RECONCILE_SETTLE_S=0)

    def resolved():
        return next((p for p in s.popups() if p.get("request_id") == rid
                     and p.get("status") == "calling"), None)
    out = wait_until(resolved, 60, what="the calls report to resolve the request")
    assert out["call_id"] == str(session) and out["message"] == "Звоним…", out
    assert row(stack, t, rid)[:3] == ("calling", None, str(session))
    # never asked again
    assert [c["params"]["external_id"] for c in uis_calls_of(world, t)] == [rid]


def test_uis_refusals_reach_the_user_in_russian(stack, world):
    t = uis_tenant(world, blacklist=["79160000001"])
    start_dialer(world)
    anna, ivan = t.stream("anna"), t.stream("ivan")

    def outcome(stream, login, phone):
        r = call(world, t, login, {"phone": phone})
        assert r.status_code == 202, r.text
        return result(stream, r.json()["request_id"])

    out = outcome(anna, "anna", "89160000001")
    assert (out["status"], out["reason"], out["message"]) == (
        "failed", "contact_in_blacklist", "Номер в чёрном списке")
    # a user added after the last dial-readiness publication is unknown to the notifier (202):
    # the dialer, the authority, refuses
    t.user("olga", "Ольга Новая", ext="114")
    out = outcome(t.stream("olga"), "olga", "89160000002")
    assert (out["status"], out["reason"], out["message"]) == (
        "failed", "not_linked", "Сотрудник не привязан к UIS")
    # one internal_error: UIS said it started nothing, so it is asked again, once more
    world.fake.fail(token=t.key, method="start.employee_call", mnemonic="internal_error", times=1)
    out = outcome(anna, "anna", "89160000003")
    assert out["status"] == "calling", out
    assert [c["outcome"] for c in uis_calls_of(world, t)] == [
        "contact_in_blacklist", "internal_error", "ok"]
    # the account lost its Call API option
    world.fake.account(t.key, call_api=False)
    out = outcome(anna, "anna", "89160000004")
    assert out["message"] == "В аккаунте UIS не подключён Call API"
    # a blocked key: the admin's business, said so
    world.fake.account(t.key, key_status="blocked")
    out = outcome(anna, "anna", "89160000005")
    assert out["reason"] == "key_rejected"
    assert out["message"] == "UIS не принял ключ API: обратитесь к администратору"
    # a tenant without a key never reaches UIS (no publication named it: the dialer says so)
    u = uis_tenant(world, key=False)
    s = u.stream("anna")
    r = call(world, u, "anna", {"phone": "89160000006"})
    out = result(s, r.json()["request_id"])
    assert out["reason"] == "no_uis_key"
    assert out["message"].startswith("Для компании не введён ключ API UIS")
    # another user never sees someone else's outcome
    assert not [p for p in ivan.popups() if p.get("kind") == "call_request"
                and p["user_id"] != t.users["ivan"]]


def test_requests_the_notifier_refuses(stack, world):
    t = uis_tenant(world)
    r = call(world, t, "anna", {"phone": "12"})
    assert r.status_code == 400 and r.json()["error"] == "number_not_callable", r.text
    r = call(world, t, "anna", {"phone": "89161234567", "counterparty_id": "x"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    r = call(world, t, "anna", {"phone": "89161234567"}, token="not-a-token")
    assert r.status_code == 401
    r = call(world, t, "anna", {"phone": "89161234567"}, **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = requests.get(world.notifier_url + "/v1/calls", timeout=5)
    assert r.status_code == 405
    # a user may have three requests in flight; no dialer runs, so none comes back
    for i in range(3):
        assert call(world, t, "anna", {"phone": f"8916000000{i}"}).status_code == 202
    r = call(world, t, "anna", {"phone": "89160000009"})
    assert r.status_code == 429 and r.json()["error"] == "too_many_calls"
    # another user is not counted with anna (olga: added after the dial-readiness publication,
    # so accepted; ivan, known as linked to no one, is refused for that)
    t.user("olga", "Ольга Новая", ext="114")
    assert call(world, t, "olga", {"phone": "89160000009"}).status_code == 202
    r = call(world, t, "ivan", {"phone": "89160000009"})
    assert r.status_code == 409 and r.json()["error"] == "not_linked", r.text
    # once the dialer answers them, anna may call again
    start_dialer(world)
    wait_until(lambda: call(world, t, "anna", {"phone": "89160000009"}).status_code == 202,
               what="anna's requests to be answered")


def out_body(call_id, state, client, ext=None, rec=None):
    """What UIS posts for an outgoing call: the guide's templates and the admin's optional
    "Исходящий звонок" one (call_state RINGING, the calling employee's extension), with
    direction out and the client's number as contact_phone_number."""
    url = f'\n    "call_record_url":{rec},' if rec else ""
    return (f'{{\n    "from_number":{client},\n    "diversion":{VIRTUAL},\n'
            f'    "direction":out,\n    "call_id":{call_id},\n'
            f'    "user_extension":{ext or ""},{url}\n    "call_state":"{state}"\n}}')


def call_popups(stream, call_id):
    """The popups of one call (a call request's outcome names the call too: not one of them)."""
    return [p for p in stream.popups() if p.get("call_id") == call_id
            and p.get("kind") != "call_request"]


def post_out(t, call_id, state, client, ext=None, rec=None):
    r = requests.post(t.url, data=out_body(call_id, state, client, ext, rec), timeout=15)
    assert r.status_code == 200, r.text


def test_a_callback_flows_through_the_pipeline_as_an_outgoing_call(stack, world):
    """Click -> UIS's call -> its notifications: no ringing popup to anyone, the "in call" card
    for the caller when the client answers, a contact with direction out answered by the
    caller, the existing client's counterparty and a history entry in its open deal."""
    t = uis_tenant(world)
    client = "79161112233"
    cp = t.counterparty("ООО Обратный звонок", mobile="+" + client, responsible="ivan")
    deal = t.deal(cp, "Поставка")
    start_dialer(world)
    anna, ivan = t.stream("anna"), t.stream("ivan")
    rid = call(world, t, "anna", {"phone": "8 916 111 22 33", "counterparty_id": cp}).json()[
        "request_id"]
    session = result(anna, rid)["call_id"]
    post_out(t, session, "RINGING", client, ext="112")
    post_out(t, session, "ANSWERED", client, ext="112")
    card = wait_until(lambda: call_popups(anna, session), what="anna's in-call card")
    assert [(p["action"], p["state"], p["direction"]) for p in card] == [
        ("show", "in_call", "out")], card
    assert card[0]["caller"]["number"] == "+" + client
    assert card[0]["counterparty"]["id"] == cp
    post_out(t, session, "HANGUP", client, ext="112",
             rec=f"https://app.uiscom.ru/system/media/talk/{session}/abc/")
    wait_until(lambda: [p["state"] for p in call_popups(anna, session)][-1:] == ["closed"],
               what="the card to close")
    world.settle()
    c = t.contact(session)
    assert (c["direction"], c["answered_by"], c["counterparty_id"], c["state"]) == (
        "out", t.users["anna"], cp, "completed"), c
    hist = [h for h in t.list("deal-history") if h["call_id"] == session]
    assert [(h["deal_id"], h["direction"], h["user_id"]) for h in hist] == [
        (deal, "out", t.users["anna"])]
    # nobody else's CRM rang: not the counterparty's responsible, not the employees
    assert not call_popups(ivan, session)


def test_the_requested_counterparty_gets_the_call_when_the_number_is_shared(stack, world):
    """Two counterparties share the number; the manager called back from the second one's card
    (counterparty_id in the request): the call that follows, tied by its call_session_id, is
    filed under that one, not under the one the usual order would pick."""
    t = uis_tenant(world)
    client = "79165550001"
    first = t.counterparty("ООО Первая", work="+" + client)
    second = t.counterparty("ООО Вторая", mobile="+" + client)
    start_dialer(world)
    s = t.stream("anna")
    r = call(world, t, "anna", {"phone": "+" + client, "counterparty_id": second})
    assert r.status_code == 202, r.text
    out = result(s, r.json()["request_id"])
    assert out["status"] == "calling" and out["counterparty_id"] == second, out
    session = out["call_id"]
    post_out(t, session, "RINGING", client, ext="112")
    post_out(t, session, "ANSWERED", client, ext="112")
    post_out(t, session, "HANGUP", client, ext="112")
    world.settle()
    c = wait_until(lambda: t.contact(session), what="the call's contact")
    assert (c["direction"], c["counterparty_id"]) == ("out", second), c
    # without a request naming one, the usual order (lowest id among equals) still holds
    other = str(10**11 + uuid.uuid4().int % 10**10)
    post_out(t, other, "RINGING", client, ext="112")
    post_out(t, other, "ANSWERED", client, ext="112")
    post_out(t, other, "HANGUP", client, ext="112")
    world.settle()
    assert wait_until(lambda: t.contact(other), what="the other call")["counterparty_id"] == first


def test_an_unanswered_outgoing_call_is_no_missed_call(stack, world):
    t = uis_tenant(world)
    t.set(create_contact_on_call="false")
    anna = t.stream("anna")
    call_id, client = str(uuid.uuid4().int % 10**10 + 10**10), "79165550000"
    post_out(t, call_id, "RINGING", client, ext="112")
    post_out(t, call_id, "MISSED", client)
    world.settle()
    assert not [x for x in t.list("tasks") if x["call_id"] == call_id]
    assert not [x for x in t.list("counterparties") if x["mobile_phone"] == "+" + client]
    assert not call_popups(anna, call_id)


def test_a_missed_call_task_closes_itself_when_the_number_is_reached(stack, world):
    t = uis_tenant(world)
    start_dialer(world)
    anna = t.stream("anna")
    callback_client, incoming_client, other = "79167770001", "79167770002", "79167770003"
    missed = {}
    for client in (callback_client, incoming_client, other):
        missed[client] = str(uuid.uuid4().int % 10**10 + 10**10)
        t.post(missed[client], "RINGING", client, ext="113")
        t.post(missed[client], "MISSED", client)
    world.settle()

    def task(client):
        return next(x for x in t.list("tasks") if x["call_id"] == missed[client])

    assert not task(callback_client)["done"]
    # anna calls the first number back from the popup page; the client answers
    rid = call(world, t, "anna", {"phone": callback_client}).json()["request_id"]
    session = result(anna, rid)["call_id"]
    post_out(t, session, "RINGING", callback_client, ext="112")
    post_out(t, session, "ANSWERED", callback_client, ext="112")
    # the second number calls again and Ivan answers
    again = str(uuid.uuid4().int % 10**10 + 10**10)
    t.post(again, "RINGING", incoming_client, ext="113")
    t.post(again, "ANSWERED", incoming_client, ext="113")
    world.settle()
    got = task(callback_client)
    assert (got["done"], got["closed_by_call_id"], got["closed_by_user_id"]) == (
        True, session, t.users["anna"]), got
    got = task(incoming_client)
    assert (got["done"], got["closed_by_call_id"], got["closed_by_user_id"]) == (
        True, again, t.users["ivan"]), got
    # nobody reached the third number: its task stays open
    got = task(other)
    assert (got["done"], got["closed_by_call_id"]) == (False, None), got
    # both calls end: no open call is left for another test's router to sweep
    post_out(t, session, "HANGUP", callback_client, ext="112")
    t.post(again, "HANGUP", incoming_client, ext="113")
    world.settle()


def test_popup_page_calls_back_in_chromium(stack, world):
    """The popup page in headless Chromium: a missed call's "Перезвонить", then "Звоним…",
    then the call's own card once the client answers; the dial box shows UIS's refusal."""
    from test_notifier_browser import BROWSER_DIR, Browser
    if not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        pytest.fail("run `npm ci` in tests/browser first (playwright-core)")
    t = uis_tenant(world, blacklist=["79160000001"])
    start_dialer(world)
    anna = t.users["anna"]
    b = Browser(f"{world.notifier_url}/popup?token={t.token('anna')}")
    try:
        assert b.read()["conn"] == "На связи"
        client, missed = "79168880001", str(uuid.uuid4().int % 10**10 + 10**10)
        t.post(missed, "RINGING", client, ext="112")
        b.wait(f'.card[data-popup-id="{t.id}:{missed}:{anna}"][data-state="ringing"]')
        t.post(missed, "MISSED", client)
        out = b.wait(f'.card[data-popup-id="{t.id}:{missed}:{anna}"][data-state="closed"] '
                     '.callback', shot="callback-missed-card")
        # the ended call stays in the recent list with its button after its card has gone
        out = b.wait('.notice[data-status="calling"]', click="#recent-list li .callback",
                     shot="callback-calling")
        notice = out["notices"][0]
        assert "Звоним…" in notice["text"] and "+7 (916) 888-00-01" in notice["text"], out
        rid = notice["request_id"]
        session = row(stack, t, rid)[2]
        made = uis_calls_of(world, t)
        assert [c["params"]["external_id"] for c in made] == [rid]
        assert made[0]["params"]["contact"] == client
        post_out(t, session, "RINGING", client, ext="112")
        post_out(t, session, "ANSWERED", client, ext="112")
        out = b.wait(f'.card[data-popup-id="{t.id}:{session}:{anna}"][data-state="in_call"]',
                     shot="callback-in-call", settle=300)
        card = next(c for c in out["cards"] if c["popup_id"] == f"{t.id}:{session}:{anna}")
        assert "+7 (916) 888-00-01" in card["text"] and "Исходящий" not in card["text"]
        assert "В разговоре" in card["text"]
        # "Звоним…" has done its job once the call's card is there
        out = b.wait(f'.notice[data-request-id="{rid}"]', gone=True)
        # the dial box: a number UIS refuses
        out = b.wait('.notice[data-status="failed"]', fill="#dial-number", text="8 916 000-00-01",
                     click="#dial-go", shot="callback-refused")
        assert "Номер в чёрном списке" in out["notices"][0]["text"], out
        post_out(t, session, "HANGUP", client, ext="112")
        world.settle()
    finally:
        b.quit()


def test_a_task_written_after_the_callback_was_talked_is_born_closed(stack, world):
    """The other order of the two facts (the writer lags, or reconciliation brings the missed
    call late): the task is inserted already done, naming the callback."""
    t = uis_tenant(world)
    client = "+79167770009"
    facts = {"caller": client, "direction": "out", "exts": ["112"], "answered_ext": "",
             "hangup_ext": ""}
    query(stack, "INSERT INTO router_calls (tenant_id, call_id, state, facts) VALUES "
          "(%s, '9000000001', 'missed', %s::jsonb), (%s, '9000000002', 'completed', %s::jsonb)",
          t.id, json.dumps(dict(facts, direction="in", exts=[], first_us=1)),
          t.id, json.dumps(dict(facts, first_us=2)))
    query(stack, "INSERT INTO tasks (tenant_id, call_id, title, phone) VALUES "
          "(%s, '9000000001', 'Пропущенный звонок', %s)", t.id, client)
    got = next(x for x in t.list("tasks") if x["call_id"] == "9000000001")
    assert (got["done"], got["closed_by_call_id"], got["closed_by_user_id"]) == (
        True, "9000000002", t.users["anna"]), got
    # a talked call that started before the missed one closes nothing
    query(stack, "INSERT INTO router_calls (tenant_id, call_id, state, facts) VALUES "
          "(%s, '9000000003', 'missed', %s::jsonb)",
          t.id, json.dumps(dict(facts, direction="in", exts=[], first_us=3)))
    query(stack, "INSERT INTO tasks (tenant_id, call_id, title, phone) VALUES "
          "(%s, '9000000003', 'Пропущенный звонок', %s)", t.id, client)
    query(stack, "UPDATE router_calls SET state = 'completed', facts = facts || '{\"v\": 2}' "
          "WHERE tenant_id = %s AND call_id = '9000000002'", t.id)
    got = next(x for x in t.list("tasks") if x["call_id"] == "9000000003")
    assert (got["done"], got["closed_by_call_id"]) == (False, None), got


def test_reconciliation_brings_lost_outgoing_calls_as_outgoing_calls(stack, world):
    """Outgoing calls whose notifications were all lost come back from UIS's calls report and
    follow the outgoing rules: direction out, answered_by the employee who called, no popup,
    no missed-call task for the one the client did not answer."""
    import datetime as dt
    from uis_support import uis_calls
    t = uis_tenant(world, timezone="Europe/Moscow")
    anna = t.stream("anna")
    start = uis_calls.local_now("Europe/Moscow") - dt.timedelta(minutes=20)
    talked, unanswered = 10**11 + uuid.uuid4().int % 10**10, 10**11 + uuid.uuid4().int % 10**10
    world.fake.calls(t.key, [
        uis_calls.make_call(talked, start, kind="outgoing", contact="79163330001",
                            employees=EMPLOYEES[:1]),
        uis_calls.make_call(unanswered, start + dt.timedelta(minutes=1),
                            kind="outgoing_unanswered", contact="79163330002",
                            employees=EMPLOYEES[:1])])
    start_dialer(world, RECONCILE_TENANTS=t.id, RECONCILE_INTERVAL_S=1, RECONCILE_SETTLE_S=0)
    wait_until(lambda: t.contact(str(talked)) and t.contact(str(unanswered)),
               timeout=60, what="reconciliation to bring both calls")
    world.settle()
    c = t.contact(str(talked))
    assert (c["direction"], c["answered_by"], c["state"]) == ("out", t.users["anna"],
                                                              "completed"), c
    c = t.contact(str(unanswered))
    assert (c["direction"], c["state"]) == ("out", "missed"), c
    assert not [x for x in t.list("tasks") if x["call_id"] in (str(talked), str(unanswered))]
    assert not call_popups(anna, str(talked)) and not call_popups(anna, str(unanswered))
