"""Calls as UIS reports them (get.calls_report rows) and the notifications UIS sends for them,
rendered the way the guide's templates (§3.3-3.6) write them: variables without quotes, so an
empty variable leaves `"user_extension":,` and a lost call's `"user_extension":null`.

A call here is one report row; `notifications(row, extensions)` gives the webhook bodies of the
same call in the order UIS sends them, and `play(...)` posts them to ingest, dropping some.
"""
import datetime as dt
import json
import urllib.request
from zoneinfo import ZoneInfo

MEDIA = "https://app.uiscom.ru/system/media/talk/{communication_id}/{record}/"

TEMPLATES = {
    # 3.3 Входящее плечо
    "RINGING": '{{\n    "from_number":{contact},\n    "diversion":{virtual},\n    '
               '"direction":{direction},\n    "call_id":{session},\n    '
               '"user_extension":{extension},\n    "call_state":"RINGING"\n}}',
    # 3.4 Начало разговора
    "ANSWERED": '{{\n    "from_number":{contact},\n    "diversion":{virtual},\n    '
                '"direction":{direction},\n    "call_id":{session},\n    '
                '"user_extension":{extension},\n    "call_state":"ANSWERED"\n}}',
    # 3.5 Записанный разговор
    "HANGUP": '{{\n    "from_number":{contact},\n    "diversion":{virtual},\n    '
              '"direction":{direction},\n    "call_id":{session},\n    '
              '"user_extension":{extension},\n    "call_record_url":{file_link},\n    '
              '"call_state":"HANGUP"\n}}',
    # 3.6 Потерянный звонок
    "MISSED": '{{\n    "from_number":{contact},\n    "diversion":{virtual},\n    '
              '"direction":{direction},\n    "call_id":{session},\n    '
              '"user_extension":null,\n    "call_state":"MISSED"\n}}',
}


def fmt(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


def make_call(session_id, start, *, kind="answered", contact="79031112233",
              virtual="74993482958", employees=(), records=1, wait=8, talk=40):
    """One get.calls_report row. start: naive datetime in the account's time zone.

    kind: answered | lost | outgoing | outgoing_unanswered | transferred.
    employees: [{"id", "full_name"}] rung in order; the first answers (the first two talk
    when transferred)."""
    lost = kind == "lost"
    talked = 0 if kind in ("lost", "outgoing_unanswered") else talk
    total = wait + talked
    emps = []
    for i, e in enumerate(employees):
        answered = not lost and kind != "outgoing_unanswered" and \
            (i == 0 or (kind == "transferred" and i == 1))
        emps.append({"employee_id": e["id"], "employee_full_name": e["full_name"],
                     "is_answered": answered, "is_talked": answered})
    recs = [f"{session_id:x}{i:02d}ab" for i in range(records)] if talked else []
    answered_emps = [e for e in emps if e["is_answered"]]
    return {
        "id": session_id, "communication_id": session_id, "communication_type": "call",
        "start_time": fmt(start), "finish_time": fmt(start + dt.timedelta(seconds=total)),
        "finish_reason": "subscriber_disconnects" if talked else "timeout",
        "direction": "out" if kind.startswith("outgoing") else "in",
        "source": "va", "is_lost": lost, "is_transfer": kind == "transferred",
        "contact_phone_number": contact, "virtual_phone_number": virtual,
        "wait_duration": wait, "total_wait_duration": wait, "talk_duration": talked,
        "clean_talk_duration": talked, "total_duration": total,
        "call_records": recs,
        "full_record_file_link": (f"https://media.uiscom.ru/{session_id}/{recs[0]}"
                                  if recs else None),
        "employees": emps,
        "first_answered_employee_id": answered_emps[0]["employee_id"] if answered_emps else None,
        "first_answered_employee_full_name": (answered_emps[0]["employee_full_name"]
                                              if answered_emps else None),
        "last_answered_employee_id": answered_emps[-1]["employee_id"] if answered_emps else None,
        "last_answered_employee_full_name": (answered_emps[-1]["employee_full_name"]
                                             if answered_emps else None),
        "call_api_external_id": None,
    }


def notifications(row, extensions):
    """[(state, body)] UIS sends for the call, in order. extensions: {employee_id: "ext"}."""
    base = {"contact": row["contact_phone_number"] or "", "virtual": row["virtual_phone_number"],
            "direction": row["direction"], "session": row["id"]}
    out = []
    for e in row["employees"] or [{"employee_id": None}]:
        out.append(("RINGING", TEMPLATES["RINGING"].format(
            **base, extension=extensions.get(e["employee_id"], ""))))
    talked = [e for e in row["employees"] if e["is_talked"]]
    if row["is_lost"]:
        out.append(("MISSED", TEMPLATES["MISSED"].format(**base)))
        return out
    if talked:
        out.append(("ANSWERED", TEMPLATES["ANSWERED"].format(
            **base, extension=extensions.get(talked[0]["employee_id"], ""))))
    for rec in row["call_records"]:
        link = MEDIA.format(communication_id=row["communication_id"], record=rec)
        out.append(("HANGUP", TEMPLATES["HANGUP"].format(
            **base, extension=extensions.get(talked[-1]["employee_id"], "") if talked else "",
            file_link=link)))
    return out


def keep(state, drop):
    """drop: "none" (all delivered), "all" (all lost), "half" (only RINGING delivered)."""
    return drop == "none" or (drop == "half" and state == "RINGING")


def play(webhook_url, row, extensions, drop="none", timeout=10):
    """Post the call's notifications that `drop` keeps; returns the states posted."""
    posted = []
    for state, body in notifications(row, extensions):
        if not keep(state, drop):
            continue
        req = urllib.request.Request(webhook_url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if resp.status // 100 != 2:
                raise RuntimeError(f"ingest answered {resp.status}")
        posted.append(state)
    return posted


def local_now(tz):
    """Now in the account's time zone, naive, whole seconds (as UIS writes its dates)."""
    return dt.datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)


def post_json(url, obj, timeout=10):
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), method="POST",
                                 headers={"Content-Type": "application/json; charset=UTF-8"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())
