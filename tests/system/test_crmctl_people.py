"""crmctl for people (issue 20): listings as aligned tables with names instead of ids, newest
first, --limit/--since/--call/--phone/--state; --json unchanged for scripts; `crmctl call` shows
one call's story. Calls go through the whole pipeline as UIS sends them."""
import json
import os
import subprocess

import pytest

from pipeline_stack import CRMCTL, Pipeline, new_call_id, wait_until

A, B = "79031112233", "79161234567"
REC = "https://app.uiscom.ru/system/media/talk/{}/0f4e2a/"


@pytest.fixture(scope="module")
def pipe(stack):
    with Pipeline.on_own_topics(stack) as p:
        yield p


@pytest.fixture(scope="module")
def office(pipe):
    """Two users, a known counterparty with an open deal; an answered call from it (first),
    then a missed call from a new number (newest)."""
    t = pipe.tenant()
    t.user("anna", "Анна Петрова", "101")
    t.user("boris", "Борис", "102")
    t.employees("anna", "boris")
    cp = t.counterparty("ООО Ромашка", work="+7 (903) 111-22-33", responsible="anna")
    t.deal(cp, "Поставка оборудования")
    stream = t.stream("anna")
    answered = new_call_id()
    t.post(answered, "RINGING", A, "101")
    t.post(answered, "ANSWERED", A, "101")
    t.post(answered, "HANGUP", A, "101", REC.format(answered))
    wait_until(lambda: (c := t.contact(answered)) and c["state"] == "completed", what="answered call")
    wait_until(lambda: [h for h in t.list("deal-history") if h["call_id"] == answered],
               what="deal history of the answered call")
    missed = new_call_id()
    t.post(missed, "RINGING", B, "101")
    t.post(missed, "MISSED", B)
    wait_until(lambda: (c := t.contact(missed)) and c["state"] == "missed", what="missed call")
    wait_until(lambda: [x for x in t.list("tasks") if x["call_id"] == missed], what="missed task")
    wait_until(lambda: "closed" in stream.states(answered), what="anna's popup closed")
    return t, answered, missed


def ctl(pipe, *args):
    """crmctl's exit code, stdout and stderr (any exit code)."""
    out = subprocess.run([CRMCTL, *args], capture_output=True, text=True,
                         env=dict(os.environ, **pipe.env), timeout=90)
    return out.returncode, out.stdout, out.stderr


def table(text):
    """Header and rows of an aligned table, cut at the header's column starts (characters)."""
    lines = [x for x in text.splitlines() if x and not x.startswith("(")]
    head = lines[0]
    # columns are two or more spaces apart; a header may hold one space ("WHEN (UTC)")
    starts = [i for i in range(len(head)) if head[i] != " " and (i == 0 or head[i - 2:i] == "  ")]
    names = [head[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
    rows = [dict(zip(names, [ln[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]))
            for ln in lines[1:]]
    return names, rows


def test_contacts_table_names_newest_first(pipe, office):
    t, answered, missed = office
    rc, out, err = ctl(pipe, "contacts", "list", t.id)
    assert rc == 0, err
    names, rows = table(out)
    assert names == ["WHEN (UTC)", "CALL", "STATE", "DIR", "PHONE", "COUNTERPARTY", "ANSWERED BY",
                     "RECORDINGS"]
    assert [r["CALL"] for r in rows] == [missed, answered]  # newest first
    assert rows[1]["COUNTERPARTY"] == "ООО Ромашка" and rows[1]["ANSWERED BY"] == "anna"
    assert rows[1]["STATE"] == "completed" and rows[1]["RECORDINGS"] == "1"
    assert rows[0]["STATE"] == "missed" and rows[0]["PHONE"] == "+79161234567"


def test_filters_and_limit(pipe, office):
    t, answered, missed = office
    rc, out, _ = ctl(pipe, "contacts", "list", t.id, "--limit", "1")
    assert rc == 0
    assert [r["CALL"] for r in table(out)[1]] == [missed]
    assert "(1 of 2, newest first; --limit 0 shows all)" in out
    assert [r["CALL"] for r in table(ctl(pipe, "contacts", "list", t.id, "--call", answered)[1])[1]] \
        == [answered]
    # a phone as people write it finds the E.164 caller
    assert [r["CALL"] for r in table(ctl(pipe, "contacts", "list", t.id, "--phone",
                                         "8 (903) 111-22-33")[1])[1]] == [answered]
    assert [r["CALL"] for r in table(ctl(pipe, "contacts", "list", t.id, "--state", "missed")[1])[1]] \
        == [missed]
    assert len(table(ctl(pipe, "contacts", "list", t.id, "--since", "1h")[1])[1]) == 2
    rc, out, _ = ctl(pipe, "contacts", "list", t.id, "--since", "2100-01-01")
    assert rc == 0 and out.strip() == "(none)"
    _, rows = table(ctl(pipe, "tasks", "list", t.id, "--state", "open")[1])
    assert [r["CALL"] for r in rows] == [missed] and rows[0]["ASSIGNEE"] == "anna"
    _, rows = table(ctl(pipe, "deal-history", "list", t.id, "--call", answered)[1])
    assert rows[0]["DEAL"] == "Поставка оборудования" and rows[0]["USER"] == "anna"
    assert rows[0]["COUNTERPARTY"] == "ООО Ромашка"
    _, rows = table(ctl(pipe, "counterparties", "list", t.id, "--phone", "+79161234567")[1])
    assert len(rows) == 1 and rows[0]["ORIGIN"] == "from a call"
    _, rows = table(ctl(pipe, "deals", "list", t.id, "--state", "open")[1])
    assert rows[0]["TITLE"] == "Поставка оборудования" and rows[0]["COUNTERPARTY"] == "ООО Ромашка"
    _, rows = table(ctl(pipe, "users", "list", t.id)[1])
    assert [(r["LOGIN"], r["EXTENSIONS"]) for r in rows] == [("boris", "102"), ("anna", "101")]


def test_bad_filters_are_refused_clearly(pipe, office):
    t, _, _ = office
    rc, _, err = ctl(pipe, "contacts", "list", t.id, "--state", "lost")
    assert rc == 2 and "ringing answered missed completed" in err
    rc, _, err = ctl(pipe, "counterparties", "list", t.id, "--call", "1")
    assert rc == 2 and "--call does not apply to counterparties" in err
    rc, _, err = ctl(pipe, "contacts", "list", t.id, "--since", "yesterday")
    assert rc == 2 and "--since" in err
    rc, _, err = ctl(pipe, "contacts", "list", t.id, "--limit", "-3")
    assert rc == 2
    rc, _, err = ctl(pipe, "contacts", "list", "no-such-tenant")
    assert rc == 1 and "tenant no-such-tenant does not exist" in err


def test_json_stays_as_it_was(pipe, office):
    t, answered, missed = office
    rows = json.loads(ctl(pipe, "contacts", "list", t.id, "--json")[1])
    assert [r["call_id"] for r in rows] == [answered, missed]  # every row, oldest first, ids
    assert set(rows[0]) >= {"id", "call_id", "counterparty_id", "answered_by", "state"}
    assert isinstance(rows[0]["answered_by"], int)


def test_call_story(pipe, office):
    t, answered, _ = office
    rc, out, err = ctl(pipe, "call", answered, t.id)
    assert rc == 0, err
    sections = out.split("\n\n")
    text = {s.splitlines()[0].split(" (")[0]: s for s in sections if s.strip()}
    got = text["notifications received"]
    assert [ln.split()[2] for ln in got.splitlines()[2:]] == ["RINGING", "ANSWERED", "HANGUP"]
    decisions = text["router's decisions: actions for crm-writer"]
    assert "contact.upsert" in decisions and "deal.history.add" in decisions
    popups = text["popups sent"]
    assert "anna (#" in popups and "ООО Ромашка" in popups and "show" in popups
    assert "completed" in text["router's state for the call"]
    contact = text["contact row written"]
    assert "ООО Ромашка" in contact and "anna" in contact and REC.format(answered) in contact
    assert "Поставка оборудования" in text["deal history written"]
    assert text["tasks written"].splitlines()[1].strip() == "none"


def test_call_story_of_an_unknown_call_says_so(pipe, office):
    t, _, _ = office
    rc, out, err = ctl(pipe, "call", "1", t.id)
    assert rc == 0, err
    assert "no row mentions this call" in out and "none in the call's time window" in out
    rc, _, err = ctl(pipe, "call", "1")
    assert rc == 2 and "CALL_ID and TENANT" in err
