"""Whole-pipeline property test (issue 15): generated calls — group ringing, known, unknown and
hidden callers, answered / recorded / finished / missed, a stray MISSED beside a talk — posted as
UIS sends them with random delays of 0-2 s between a call's notifications (so they fall into
different router and writer batches), duplicates and reorderings, many calls at once. The final
CRM rows and the popups every user was sent must equal a small reference model's, for every call.

PROPERTY_CALLS (default 40) sets the number of calls, PROPERTY_SEED replays a run; the seed is
printed (and repeated in every failure message)."""
import os
import random
import threading
import time

import pytest
import requests

from pipeline_stack import clean_pipeline, new_call_id, uis_body, wait_until

CALLS = int(os.environ.get("PROPERTY_CALLS", "40"))
SEED = int(os.environ.get("PROPERTY_SEED", str(random.randrange(1 << 30))))
EXTS = {"101": "anna", "102": "boris", "103": "clara"}  # entered in this order
USERS = ["anna", "boris", "clara"]
KINDS = ["recorded", "recorded_finished", "finished_talk", "missed", "missed_finished",
         "finished_lost", "contradiction"]


@pytest.fixture(scope="module")
def pipe(stack):
    with clean_pipeline(stack) as p:
        yield p


def body(call_id, ev, frm):
    state, ext, rec, talk = ev
    if state != "FINISHED":
        return uis_body(call_id, state, frm, ext, rec)
    return (f'{{\n    "from_number":{frm or ""},\n    "diversion":74993482958,\n'
            f'    "direction":in,\n    "call_id":{call_id},\n    "user_extension":{ext or ""},\n'
            f'    "talk_time_duration":{talk},\n    "total_time_duration":{talk + 7},\n'
            f'    "wait_time_duration":7,\n    "call_state":"FINISHED"\n}}')


def generate(rng, cid, known_numbers):
    """One call: its caller, its notifications in the order they will be posted, and what it is."""
    who = rng.choices(["known", "unknown", "hidden"], weights=[3, 4, 1])[0]
    frm = {"known": lambda: rng.choice(known_numbers),
           "unknown": lambda: "7926" + str(rng.randrange(10**7)).rjust(7, "0"),
           "hidden": lambda: ""}[who]()
    legs = rng.sample(["101", "102", "103", ""], rng.randint(1, 3))
    mapped = [x for x in legs if x] or ["101"]
    a = rng.choice(mapped)
    rec = f"https://app.uiscom.ru/system/media/talk/{cid}/{rng.randrange(10**6)}/"
    talk = rng.randint(1, 300)
    kind = rng.choice(KINDS)
    ring = [("RINGING", x, None, None) for x in legs]
    evs = ring + {
        "recorded": [("ANSWERED", a, None, None), ("HANGUP", a, rec, None)],
        "recorded_finished": [("ANSWERED", a, None, None), ("HANGUP", a, rec, None),
                              ("FINISHED", "", None, talk)],
        "finished_talk": [("ANSWERED", a, None, None), ("FINISHED", "", None, talk)],
        "missed": [("MISSED", None, None, None)],
        "missed_finished": [("MISSED", None, None, None), ("FINISHED", "", None, 0)],
        "finished_lost": [("FINISHED", "", None, 0)],
        "contradiction": [("ANSWERED", a, None, None), ("HANGUP", a, rec, None),
                          ("MISSED", None, None, None)],
    }[kind]
    if rng.random() < 0.4:
        rng.shuffle(evs)
    if rng.random() < 0.3:
        evs.insert(rng.randrange(len(evs) + 1), rng.choice(evs))
    return {"cid": cid, "who": who, "frm": frm, "events": evs, "kind": kind}


def model_rows(call, t, cps):
    """The CRM rows the call must end with (counterparty ids of unknown callers resolved later)."""
    evs = call["events"]
    states = {e[0] for e in evs}
    talk = max([e[3] for e in evs if e[0] == "FINISHED"], default=None)
    talked = bool(states & {"ANSWERED", "HANGUP"}) or (talk or 0) > 0
    ans = next((e[1] for e in evs if e[0] in ("ANSWERED", "HANGUP") and e[1]), None)
    known = cps.get(call["frm"]) if call["who"] == "known" else None
    cp = known["id"] if known else ("stub" if call["who"] == "unknown" else None)
    recs = sorted({e[2] for e in evs if e[0] == "HANGUP"})
    rows = {
        "contact": {"state": "completed" if talked else "missed",
                    "answered_by": t.users[EXTS[ans]] if talked and ans else None,
                    "counterparty_id": cp, "record_urls": recs, "talk_duration_s": talk},
        "task": None if talked else {
            "assignee_user_id": t.users["clara"] if known else t.users["anna"],
            "counterparty_id": cp},
        "history": {"deal_id": known["deal"], "duration_s": talk}
        if known and "HANGUP" in states else None,
    }
    return rows


def model_popups(call, t, nro, cps):
    """Every (user, state) the notifier must have delivered for the call: the router's rules
    replayed over the notifications in the order they were posted (one caller's notifications
    keep their order through Kafka)."""
    known = cps.get(call["frm"]) if call["who"] == "known" else None
    employees = USERS  # no explicit list: the extension table, in the order entered
    sent, out = {}, set()
    rank = {"ringing": 1, "in_call": 2, "closed": 3}
    seen = []
    for ev in call["events"]:
        seen.append(ev)
        states = {e[0] for e in seen}
        legs = {e[1] for e in seen if e[0] == "RINGING"}
        ans = next((e[1] for e in seen if e[0] == "ANSWERED"), None)
        want, others = {}, None
        if states & {"HANGUP", "MISSED", "FINISHED"}:
            others = "closed"
        elif ans is not None:
            others = "closed"
            if ans in EXTS:
                want[EXTS[ans]] = "in_call"
        else:
            for leg in legs:
                if nro and known:
                    targets = ["clara"]
                elif leg in EXTS:
                    targets = [EXTS[leg]]
                else:
                    targets = employees
                for u in targets:
                    want[u] = "ringing"
        for u in set(want) | set(sent):
            have = sent.get(u)
            w = want.get(u, others or have)
            if w is None or (have and rank[w] <= rank[have]) or (have is None and w == "closed"):
                continue
            sent[u] = w
            out.add((u, w))
    return out


class Observed:
    def __init__(self, t):
        self.t = t
        self.streams = {u: t.stream(u) for u in USERS}

    def popups(self, cid):
        return {(u, p["state"]) for u, s in self.streams.items() for p in s.popups()
                if p["call_id"] == cid}


def rows_of(t, cid, stubs):
    c = t.contact(cid)
    tasks = [x for x in t.list("tasks") if x["call_id"] == cid]
    hist = [h for h in t.list("deal-history") if h["call_id"] == cid]
    contact = c and {k: c.get(k) for k in ("state", "answered_by", "counterparty_id",
                                            "record_urls", "talk_duration_s")}
    if contact and contact["counterparty_id"] in stubs:
        contact["counterparty_id"] = "stub"
    task = tasks and {"assignee_user_id": tasks[0]["assignee_user_id"],
                      "counterparty_id": "stub" if tasks[0]["counterparty_id"] in stubs
                      else tasks[0]["counterparty_id"]}
    return {"contact": contact, "task": task or None,
            "history": hist and {"deal_id": hist[0]["deal_id"],
                                 "duration_s": hist[0]["duration_s"]} or None,
            "n": (len(tasks), len(hist))}


def test_outcome_is_a_function_of_the_set_of_notifications(pipe):
    print(f"\nproperty test: PROPERTY_SEED={SEED} PROPERTY_CALLS={CALLS}")
    rng = random.Random(SEED)
    tenants = []
    for nro in (False, True):
        t = pipe.tenant(notify_responsible_only=nro)
        for ext, login in EXTS.items():
            t.user(login, login.title(), ext)
        cps = {}
        for i in range(3):
            number = f"7903555{nro:d}{i:03d}"
            cid = t.counterparty(f"Клиент {i}", work="+" + number, responsible="clara")
            cps[number] = {"id": cid, "deal": t.deal(cid, f"Сделка {i}")}
        tenants.append((t, nro, cps, Observed(t)))
    calls = []
    for n in range(CALLS):
        t, nro, cps, obs = tenants[n % 2]
        call = generate(rng, new_call_id(), list(cps))
        call.update(t=t, nro=nro, cps=cps, obs=obs, start=rng.uniform(0, 15),
                    gaps=[rng.uniform(0, 2) for _ in call["events"]])
        calls.append(call)

    errors = []
    t0 = time.monotonic()

    def run(call):
        time.sleep(max(0.0, call["start"] - (time.monotonic() - t0)))
        for ev, gap in zip(call["events"], call["gaps"]):
            time.sleep(gap)
            r = requests.post(call["t"].url, data=body(call["cid"], ev, call["frm"]), timeout=15)
            if r.status_code != 200:
                errors.append((call["cid"], ev, r.status_code, r.text))

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, (SEED, errors)

    def mismatches():
        bad = []
        stubs = {}
        for t, _, _, _ in tenants:
            stubs[t.id] = {c["id"] for c in t.list("counterparties") if c["auto_created"]}
        for call in calls:
            t = call["t"]
            want = model_rows(call, t, call["cps"])
            got = rows_of(t, call["cid"], stubs[t.id])
            if got["n"][0] > 1 or got["n"][1] > 1:
                bad.append((call["cid"], call["kind"], "duplicate rows", got["n"]))
            got.pop("n")
            if want != got:
                bad.append((call["cid"], call["kind"], call["who"], call["events"], want, got))
                continue
            wp = model_popups(call, t, call["nro"], call["cps"])
            gp = call["obs"].popups(call["cid"])
            if wp != gp:
                bad.append((call["cid"], call["kind"], call["who"], call["events"], "popups",
                            sorted(wp), sorted(gp)))
        return bad

    last = []

    def settled():
        nonlocal last
        last = mismatches()
        return not last

    try:
        wait_until(settled, timeout=90, interval=2, what="the model's rows and popups")
    except AssertionError:
        # Each differing call's whole story (crmctl call) says which stage went astray.
        by_id = {c["cid"]: c for c in calls}
        stories = [by_id[b[0]]["t"].ctl("call", b[0], by_id[b[0]]["t"].id) for b in last[:3]]
        pytest.fail(f"PROPERTY_SEED={SEED}: {len(last)} of {len(calls)} calls differ from the "
                    f"model:\n" + "\n".join(map(repr, last[:10])) + "\n" + "\n".join(stories),
                    pytrace=False)
    # One auto-created counterparty per unknown number, whatever the timing.
    for t, _, _, _ in tenants:
        auto = [c["mobile_phone"] for c in t.list("counterparties") if c["auto_created"]]
        assert len(auto) == len(set(auto)), (SEED, auto)
        numbers = {"+" + c["frm"] for c in calls if c["t"] is t and c["who"] == "unknown"}
        assert set(auto) == numbers, (SEED, sorted(auto), sorted(numbers))
