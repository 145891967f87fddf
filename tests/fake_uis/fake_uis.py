#!/usr/bin/env python3
"""A fake UIS for tests and the local demo, written from UIS's public reference
(comagic.github.io: data_api/ "Общая информация", get.account, get.calls_report,
get.employees; call_api/ start.employee_call) and docs/../UIS-API.md — not from our client.

Data API (POST /v2.0) and Call API (POST /v4.0): JSON-RPC 2.0, one call per request, HTTP 200
for answers and errors alike, errors as {"code","message","data":{"mnemonic","field","value",
"params","extended_helper","metadata"}}, metadata.limits on every answer of an account
(successful ones cost one point; refused ones cost nothing), per-minute and per-day points,
IP allow lists, blocked/expired keys, inactive accounts, the 3-month rule of reports, offset
(<= 100,000) and limit (<= 10,000, default 1,000) paging, fields, filter and sort.

Tests drive the fake through /_fake/* (JSON): accounts, calls, employees, injected failures and
the log of what was asked (tokens never appear in it).

Run: python3 tests/fake_uis/fake_uis.py --port 24090 [--minute-seconds 60]
"""
import argparse
import calendar
import datetime as dt
import ipaddress
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

# get.calls_report columns (data_api/report/get_calls_report), those the fake can fill.
CALL_FIELDS = [
    "id", "start_time", "finish_time", "finish_reason", "direction", "source", "is_lost",
    "is_transfer", "communication_id", "communication_type", "contact_phone_number",
    "virtual_phone_number", "wait_duration", "total_wait_duration", "talk_duration",
    "clean_talk_duration", "total_duration", "call_records", "full_record_file_link",
    "employees", "last_answered_employee_id", "last_answered_employee_full_name",
    "first_answered_employee_id", "first_answered_employee_full_name", "call_api_external_id",
    "call_api_request_id",
]
CALL_FILTERABLE = {"id", "start_time", "finish_reason", "direction", "source", "is_lost",
                   "is_transfer", "communication_id", "contact_phone_number",
                   "virtual_phone_number", "wait_duration", "talk_duration", "total_duration",
                   "call_api_external_id", "call_api_request_id"}
EMPLOYEE_FIELDS = ["id", "full_name", "login", "status", "call_recording", "extension",
                   "phone_numbers", "groups"]


class RpcError(Exception):
    def __init__(self, code, mnemonic, message, field=None, value=None, params=None):
        super().__init__(message)
        self.code, self.mnemonic, self.message = code, mnemonic, message
        self.field, self.value, self.params = field, value, params or {}


def missed(field):
    return RpcError(-32602, "required_parameter_missed",
                    "The required parameter has been missed", field=field)


def bad_value(field, value):
    return RpcError(-32602, "invalid_parameter_value", "Invalid parameter value", field=field,
                    value=None if value is None else str(value))


def unexpected(field):
    return RpcError(-32602, "unexpected_parameters", "Unexpected method parameter(s)", field=field)


class Account:
    def __init__(self, token, spec):
        self.token = token
        self.app_id = spec.get("app_id", 1000)
        self.name = spec.get("name", "Demo")
        self.timezone = spec.get("timezone", "Europe/Moscow")
        self.key_status = spec.get("key_status", "active")   # active | blocked | expired
        self.active = spec.get("active", True)
        self.allowed_ips = spec.get("allowed_ips", ["0.0.0.0/0"])
        self.minute_limit = spec.get("minute_limit", 1000)
        self.day_limit = spec.get("day_limit", 200000)
        self.call_api = spec.get("call_api", True)
        self.virtual_numbers = spec.get("virtual_numbers", [])
        self.blacklist = spec.get("blacklist", [])   # contacts the account refuses to call
        self.employees = {}
        self.calls = {}
        self.minute_window = (0, 0)   # (window start, points spent)
        self.day_window = (0, 0)
        self.next_session = spec.get("next_session", 900000000)
        self.next_request = 5000000   # call_api_request_id of the Call API requests


class Fake:
    def __init__(self, minute_seconds=60, day_seconds=86400):
        self.lock = threading.Lock()
        self.accounts = {}
        self.failures = []   # [{"token","method","mnemonic","code","times"}]
        self.log = []        # [{"endpoint","method","app_id","outcome","params"}]
        self.minute_seconds = minute_seconds
        self.day_seconds = day_seconds
        self.delay_s = 0.0   # UIS's latency, for tests that must catch a client mid-page

    # ---- limits ----
    def _window(self, start_spent, length, now):
        start, spent = start_spent
        if now - start >= length:
            start, spent = now - (now - start) % length if start else now, 0
        return start, spent

    def _limits(self, acc, now):
        ms, mspent = acc.minute_window = self._window(acc.minute_window, self.minute_seconds, now)
        ds, dspent = acc.day_window = self._window(acc.day_window, self.day_seconds, now)
        return {
            "day_limit": acc.day_limit, "day_remaining": max(0, acc.day_limit - dspent),
            "day_reset": max(1, int(ds + self.day_seconds - now + 0.999)),
            "minute_limit": acc.minute_limit,
            "minute_remaining": max(0, acc.minute_limit - mspent),
            "minute_reset": max(1, int(ms + self.minute_seconds - now + 0.999)),
        }

    def _spend(self, acc):
        acc.minute_window = (acc.minute_window[0], acc.minute_window[1] + 1)
        acc.day_window = (acc.day_window[0], acc.day_window[1] + 1)

    # ---- one JSON-RPC request ----
    def handle(self, endpoint, raw, client_ip):
        try:
            req = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return error_answer(None, RpcError(-32700, "parse_error",
                                               "Invalid JSON was received by the server."))
        if isinstance(req, list):
            return error_answer(None, RpcError(-32099, "batch_opreations_not_supported",
                                               "Batch operations not supported"))
        if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or \
                not isinstance(req.get("method"), str) or not isinstance(req.get("params"), dict):
            return error_answer(req.get("id") if isinstance(req, dict) else None,
                                RpcError(-32600, "invalid_request",
                                         "Invalid Request The JSON sent is not a valid Request object"))
        if "id" not in req:
            return error_answer(None, RpcError(-32099, "notifications_not_supported",
                                               "Notifications not supported"))
        rid, method, params = req["id"], req["method"], dict(req["params"])
        methods = DATA_METHODS if endpoint == "data" else CALL_METHODS
        with self.lock:
            now = time.time()
            acc = None
            try:
                if method not in methods:
                    raise RpcError(-32601, "method_not_found",
                                   "The method does not exist / is not available")
                token = params.pop("access_token", None)
                if token is None:
                    raise missed("access_token")
                acc = self.accounts.get(token)
                if acc is None:
                    raise RpcError(-32001, "access_token_invalid", "Access token is invalid")
                if acc.key_status == "blocked":
                    raise RpcError(-32001, "access_token_blocked", "Access token has been blocked")
                if acc.key_status == "expired":
                    raise RpcError(-32001, "access_token_expired", "Access token has been expired")
                if not ip_allowed(client_ip, acc.allowed_ips):
                    raise RpcError(-32003, "ip_not_whitelisted",
                                   f"Your IP {client_ip} is not whitelisted",
                                   params={"ip": client_ip})
                if not acc.active:
                    raise RpcError(-32009, "account_inactive",
                                   "Your account has been disabled, contact the support service")
                limits = self._limits(acc, now)
                for kind in ("day", "minute"):
                    if limits[f"{kind}_remaining"] <= 0:
                        raise RpcError(-32029, "limit_exceeded",
                                       f"Limit per {kind} has been exceeded. Value of current "
                                       f"limit per {kind} is {limits[kind + '_limit']}",
                                       params={"limit_type": kind,
                                               "limit_max_value": limits[kind + "_limit"]})
                self._injected(token, method)
                result = methods[method](self, acc, params)
                self._spend(acc)
                result.setdefault("metadata", {})["limits"] = self._limits(acc, now)
                self._record(endpoint, method, acc, "ok", params)
                return {"jsonrpc": "2.0", "id": rid, "result": result}
            except RpcError as e:
                meta = {"limits": self._limits(acc, now)} if acc is not None else {}
                self._record(endpoint, method, acc, e.mnemonic, params)
                return error_answer(rid, e, meta)

    def _injected(self, token, method):
        for f in self.failures:
            if f["times"] > 0 and f.get("token", token) == token and \
                    f.get("method", method) == method:
                f["times"] -= 1
                raise RpcError(f.get("code", -32603), f["mnemonic"],
                               f.get("message", "Internal error, contact the support service"))

    def _record(self, endpoint, method, acc, outcome, params):
        self.log.append({"endpoint": endpoint, "method": method,
                         "app_id": acc.app_id if acc else None, "outcome": outcome,
                         "params": params, "at": time.time()})


def error_answer(rid, e, metadata=None):
    return {"jsonrpc": "2.0", "id": rid, "error": {
        "code": e.code, "message": e.message,
        "data": {"mnemonic": e.mnemonic, "field": e.field, "value": e.value, "params": e.params,
                 "extended_helper": None, "metadata": metadata or {}}}}


def ip_allowed(ip, allowed):
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net, strict=False) for net in allowed)


# ---- report machinery shared by get.* methods ----

def check_known(params, allowed):
    for k in params:
        if k not in allowed:
            raise unexpected(k)


def paging(params):
    offset, limit = params.get("offset", 0), params.get("limit", 1000)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise RpcError(-32602, "data_type_error", "Data supplied is of wrong type", field="offset")
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise RpcError(-32602, "data_type_error", "Data supplied is of wrong type", field="limit")
    if offset < 0 or offset > 100000:
        raise bad_value("offset", offset)
    if limit < 1 or limit > 10000:
        raise bad_value("limit", limit)
    return offset, limit


def parse_date(params, field):
    if field not in params:
        raise missed(field)
    v = params[field]
    if not isinstance(v, str) or not DATE_RE.match(v):
        raise bad_value(field, v)
    try:
        return dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise bad_value(field, v) from None


def add_months(d, n):
    month = d.month - 1 + n
    year, month = d.year + month // 12, month % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


OPS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    ">": lambda a, b: a is not None and a > b, ">=": lambda a, b: a is not None and a >= b,
    "<": lambda a, b: a is not None and a < b, "<=": lambda a, b: a is not None and a <= b,
    "in": lambda a, b: a in b, "not_in": lambda a, b: a not in b,
    "like": lambda a, b: a is not None and re.fullmatch(
        re.escape(b).replace("%", ".*"), str(a)) is not None,
}


def compile_filter(f, filterable, depth=0):
    if not isinstance(f, dict):
        raise bad_value("filter", f)
    if "filters" in f:
        if depth >= 3 or f.get("condition") not in ("and", "or") or \
                not isinstance(f["filters"], list) or not f["filters"]:
            raise bad_value("filter", json.dumps(f))
        subs = [compile_filter(s, filterable, depth + 1) for s in f["filters"]]
        if f["condition"] == "and":
            return lambda row: all(s(row) for s in subs)
        return lambda row: any(s(row) for s in subs)
    field, op, value = f.get("field"), f.get("operator"), f.get("value")
    if field not in filterable:
        raise RpcError(-32602, "filter_prohibited", "Filter by parameter is prohibited",
                       field="filter.field", value=field)
    if op not in OPS:
        raise bad_value("filter.operator", op)
    if op in ("in", "not_in") and not isinstance(value, list):
        raise bad_value("filter.value", value)
    return lambda row: OPS[op](row.get(field), value)


def report(params, rows, all_fields, filterable, sortable):
    offset, limit = paging(params)
    fields = params.get("fields", all_fields)
    if not isinstance(fields, list) or not fields:
        raise bad_value("fields", fields)
    for f in fields:
        if f not in all_fields:
            raise unexpected(f"fields.{f}")
    if "filter" in params:
        pred = compile_filter(params["filter"], filterable)
        rows = [r for r in rows if pred(r)]
    sort = params.get("sort", [])
    if not isinstance(sort, list):
        raise bad_value("sort", sort)
    for s in reversed(sort):
        if not isinstance(s, dict) or s.get("field") not in sortable:
            raise RpcError(-32602, "sort_prohibited", "Sort by parameter is prohibited",
                           field="sort.field", value=s.get("field") if isinstance(s, dict) else s)
        if s.get("order", "asc") not in ("asc", "desc"):
            raise bad_value("sort.order", s.get("order"))
        rows = sorted(rows, key=lambda r, k=s["field"]: (r.get(k) is None, r.get(k)),
                      reverse=s.get("order") == "desc")
    page = [{f: r.get(f) for f in fields} for r in rows[offset:offset + limit]]
    return {"data": page, "metadata": {"total_items": len(rows)}}


# ---- Data API ----

def get_account(fake, acc, params):
    check_known(params, {"user_id"})
    return {"data": [{"app_id": acc.app_id, "name": acc.name, "timezone": acc.timezone}],
            "metadata": {"total_items": 1}}


def get_calls_report(fake, acc, params):
    check_known(params, {"user_id", "limit", "offset", "filter", "fields", "sort", "date_from",
                         "date_till", "include_ongoing_calls"})
    date_from, date_till = parse_date(params, "date_from"), parse_date(params, "date_till")
    if date_till < date_from:
        raise RpcError(-32602, "invalid_parameters_combination",
                       "The combination of parameters is not permitted", field="date_till")
    if add_months(date_from, 3) < date_till:
        raise RpcError(-32602, "date_interval_limit_reached",
                       "Max value of requested date interval is 3 months", field="date_till")
    ongoing = params.get("include_ongoing_calls", False)
    if not isinstance(ongoing, bool):
        raise RpcError(-32602, "data_type_error", "Data supplied is of wrong type",
                       field="include_ongoing_calls")
    lo, hi = date_from.strftime("%Y-%m-%d %H:%M:%S"), date_till.strftime("%Y-%m-%d %H:%M:%S")
    rows = [c for c in acc.calls.values()
            if lo <= c["start_time"] <= hi and (ongoing or c.get("finish_time"))]
    rows.sort(key=lambda c: c["id"])
    return report(params, rows, CALL_FIELDS, CALL_FILTERABLE, CALL_FILTERABLE)


def get_employees(fake, acc, params):
    check_known(params, {"user_id", "limit", "offset", "filter", "fields", "sort"})
    rows = sorted(acc.employees.values(), key=lambda e: e["id"])
    return report(params, rows, EMPLOYEE_FIELDS, {"id", "full_name", "status", "login"},
                  {"id", "full_name"})


# ---- Call API ----

def start_employee_call(fake, acc, params):
    check_known(params, {"first_call", "switch_at_once", "early_switching", "media_file_id",
                         "show_virtual_phone_number", "virtual_phone_number", "external_id",
                         "dtmf_string", "direction", "contact", "employee",
                         "contact_message", "employee_message", "user_id"})
    if not acc.call_api:
        raise RpcError(-32008, "method_component_disabled",
                       "You need at least on of the following components to access this method: "
                       "call_api", params={"components": "call_api"})
    for f in ("first_call", "virtual_phone_number", "contact", "employee"):
        if f not in params:
            raise missed(f)
    if params["first_call"] not in ("employee", "contact"):
        raise bad_value("first_call", params["first_call"])
    if params.get("direction", "out") not in ("in", "out"):
        raise bad_value("direction", params["direction"])
    if not isinstance(params["contact"], str) or not params["contact"].isdigit():
        raise bad_value("contact", params["contact"])
    emp = params["employee"]
    if not isinstance(emp, dict) or "id" not in emp:
        raise missed("employee.id")
    if params["virtual_phone_number"] not in acc.virtual_numbers:
        raise RpcError(-32007, "virtual_phone_number_not_found", "Virtual phone number not found",
                       field="virtual_phone_number", value=params["virtual_phone_number"])
    if emp["id"] not in acc.employees:
        raise RpcError(-32602, "employee_not_found", "Employee not found", field="employee.id",
                       value=str(emp["id"]))
    if params["contact"] in acc.blacklist:
        raise RpcError(-32002, "contact_in_blacklist", "Contact is in the blacklist",
                       field="contact", value=params["contact"])
    acc.next_session += 1
    acc.calls[acc.next_session] = call_api_row(acc, acc.next_session, params)
    return {"data": {"call_session_id": acc.next_session}}


def call_api_row(acc, session, params):
    """The calls report row of a call start.employee_call began: source callapi, the request's
    external_id as call_api_external_id and the API request's id as call_api_request_id
    (data_api get.calls_report, "Call API" columns). Ongoing (no finish_time) until the test ends
    it (/_fake/end_call): the report lists it only with include_ongoing_calls until then."""
    emp = acc.employees[params["employee"]["id"]]
    acc.next_request += 1
    start = dt.datetime.now(ZoneInfo(acc.timezone)).replace(tzinfo=None, microsecond=0)
    return {
        "id": session, "communication_id": session, "communication_type": "call",
        "start_time": start.strftime("%Y-%m-%d %H:%M:%S"), "finish_time": None,
        "finish_reason": None, "direction": params.get("direction", "out"), "source": "callapi",
        "is_lost": False, "is_transfer": False, "contact_phone_number": params["contact"],
        "virtual_phone_number": params["virtual_phone_number"], "wait_duration": 0,
        "total_wait_duration": 0, "talk_duration": 0, "clean_talk_duration": 0,
        "total_duration": 0, "call_records": [], "full_record_file_link": None,
        "employees": [{"employee_id": emp["id"], "employee_full_name": emp["full_name"],
                       "is_answered": False, "is_talked": False}],
        "first_answered_employee_id": None, "first_answered_employee_full_name": None,
        "last_answered_employee_id": None, "last_answered_employee_full_name": None,
        "call_api_external_id": params.get("external_id"),
        "call_api_request_id": acc.next_request,
    }


def end_call_api_call(acc, external_id, talk):
    """The call of external_id ends now: the employee and the client talked for talk seconds
    (0: the client did not answer)."""
    row = next(c for c in acc.calls.values() if c.get("call_api_external_id") == external_id)
    start = dt.datetime.strptime(row["start_time"], "%Y-%m-%d %H:%M:%S")
    now = dt.datetime.now(ZoneInfo(acc.timezone)).replace(tzinfo=None, microsecond=0)
    total = max(int((now - start).total_seconds()), talk)
    emp = row["employees"][0]
    emp["is_answered"] = emp["is_talked"] = talk > 0
    row.update({"finish_time": (start + dt.timedelta(seconds=total)).strftime("%Y-%m-%d %H:%M:%S"),
                "finish_reason": "subscriber_disconnects" if talk else "timeout",
                "wait_duration": total - talk, "total_wait_duration": total - talk,
                "talk_duration": talk, "clean_talk_duration": talk, "total_duration": total})
    if talk:
        for k in ("first", "last"):
            row[f"{k}_answered_employee_id"] = emp["employee_id"]
            row[f"{k}_answered_employee_full_name"] = emp["employee_full_name"]
    return row["id"]


DATA_METHODS = {"get.account": get_account, "get.calls_report": get_calls_report,
                "get.employees": get_employees}
CALL_METHODS = {"start.employee_call": start_employee_call}


# ---- control API for tests (/_fake/...) ----

def control(fake, path, body):
    with fake.lock:
        if path == "/_fake/reset":
            fake.accounts.clear()
            fake.failures.clear()
            fake.log.clear()
            return {}
        if path == "/_fake/account":
            acc = fake.accounts.get(body["token"])
            if acc is None:
                acc = fake.accounts[body["token"]] = Account(body["token"], body)
            else:
                for k, v in body.items():
                    if k not in ("token", "employees", "calls"):
                        setattr(acc, k, v)
            return {"app_id": acc.app_id}
        if path == "/_fake/employees":
            acc = fake.accounts[body["token"]]
            for e in body["employees"]:
                acc.employees[e["id"]] = employee_row(e)
            for eid in body.get("remove", []):
                acc.employees.pop(eid, None)
            return {"employees": len(acc.employees)}
        if path == "/_fake/calls":
            acc = fake.accounts[body["token"]]
            for c in body["calls"]:
                acc.calls[c["id"]] = c
            return {"calls": len(acc.calls)}
        if path == "/_fake/end_call":
            acc = fake.accounts[body["token"]]
            return {"id": end_call_api_call(acc, body["external_id"], int(body.get("talk", 30)))}
        if path == "/_fake/fail":
            fake.failures.append(dict(body))
            return {}
        if path == "/_fake/delay":
            fake.delay_s = float(body["seconds"])
            return {}
        if path == "/_fake/log":
            app_id = body.get("app_id")
            return {"log": [e for e in fake.log if app_id is None or e["app_id"] == app_id]}
    raise KeyError(path)


def employee_row(e):
    return {"id": e["id"], "full_name": e["full_name"], "login": e.get("login"),
            "status": e.get("status", "available"), "call_recording": e.get("call_recording",
                                                                            "all"),
            "extension": {"extension_phone_number": e.get("extension"),
                          "extension_id": e.get("extension_id"), "status": "active"},
            "phone_numbers": e.get("phone_numbers", []), "groups": e.get("groups", [])}


def make_handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # noqa: D102 - quiet
            pass

        def _answer(self, status, obj):
            data = json.dumps(obj, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0].rstrip("/")
            if path.startswith("/_fake/"):
                try:
                    self._answer(200, control(fake, path, json.loads(raw or b"{}")))
                except (KeyError, ValueError, TypeError) as e:
                    self._answer(400, {"error": repr(e)})
                return
            endpoint = {"/v2.0": "data", "/v4.0": "call"}.get(path)
            if endpoint is None:
                self._answer(404, {"error": "not found"})
                return
            if fake.delay_s:
                time.sleep(fake.delay_s)
            self._answer(200, fake.handle(endpoint, raw, self.client_address[0]))

        def do_GET(self):  # noqa: N802
            self._answer(200 if self.path in ("/healthz", "/readyz") else 404, {})

    return Handler


def serve(port, host="127.0.0.1", minute_seconds=60, day_seconds=86400):
    """Start the fake in a thread; returns (server, fake). server.shutdown() stops it."""
    fake = Fake(minute_seconds, day_seconds)
    server = ThreadingHTTPServer((host, port), make_handler(fake))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, fake


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--minute-seconds", type=int, default=60,
                    help="length of the per-minute limit window (tests shorten it)")
    args = ap.parse_args()
    fake = Fake(args.minute_seconds)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(fake))
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
