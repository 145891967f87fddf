#!/usr/bin/env python3
"""Pipeline benchmark (issue 8): UIS webhooks at a stepped rate through the whole product
(ingest -> router -> crm-writer / notifier, on the local Kafka and PostgreSQL), measured from the
outside:

  webhook -> popup    the POST of a call's first RINGING leaving the client -> the first SSE
                      event for that call arriving at a connected user;
  webhook -> contact  the same POST -> the call's first crm.contacts.v1 event (the writer emits
                      one per committed contact upsert) read by a consumer; and the POST of the
                      call's end (recording or missed) -> the contact event in its final state;
  CPU and RSS         of each service, the broker, PostgreSQL (postmaster and backends) and the
                      load generator, from /proc.

Steps through rates (notifications/s) and stops at the first step whose p99 webhook -> popup is
100 ms or more, that loses popups, or that the load does not keep up with. Prints figures and
ratios, writes a markdown report and a PNG plot; asserts nothing. Run it through ./run (which
builds the Release binaries and brings the local stack up when it is down)."""
import argparse
import contextlib
import datetime
import multiprocessing as mp
import os
import platform
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
os.environ.setdefault("BUILD_DIR", str(REPO / "build-release"))
sys.path.insert(0, str(REPO / "tests" / "system"))
sys.path.insert(0, str(HERE))

import psycopg  # noqa: E402

import load  # noqa: E402
from conftest import stack_env  # noqa: E402
from pipeline_stack import Pipeline, uis_body  # noqa: E402
from pipeline_support import own_topics  # noqa: E402

GOAL_RATE, GOAL_P99_MS, LIMIT_P99_MS = 1000, 50.0, 100.0
REC = "https://app.uiscom.ru/system/media/talk/{}/{}/"
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="50,100,200,400,700,1000,1500,2000,2500,3000",
                    help="rates to step through, notifications/s (default %(default)s)")
    ap.add_argument("--rate", type=int, help="run one step at this rate instead of --steps")
    ap.add_argument("--seconds", type=float, default=20, help="length of a step (default 20)")
    ap.add_argument("--no-stop", action="store_true", help="run every step even after a failure")
    ap.add_argument("--users", type=int, default=50, help="users, all with extensions and "
                    "connected on SSE (default 50)")
    ap.add_argument("--employees", type=int, default=10)
    ap.add_argument("--counterparties", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=32, help="sender keep-alive connections")
    ap.add_argument("--call-span", type=float, default=1.2,
                    help="seconds from a call's first to its last notification (default 1.2)")
    ap.add_argument("--log-level", default="info", help="LOG_LEVEL of the services")
    ap.add_argument("--out", type=Path, default=HERE / "report.md", help="markdown report")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "performance-pipeline.png")
    ap.add_argument("--seed", type=int, default=8)
    return ap.parse_args()


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def ms(v):
    return "–" if v is None else (f"{v * 1000:.1f}" if v < 0.1 else f"{v * 1000:.0f}")


# ---------------------------------------------------------------- tenant and load shape

def make_tenant(pipe, args):
    t = pipe.tenant(f"bench-{uuid.uuid4().hex[:8]}", notify_responsible_only=True)
    logins = [f"u{i:03d}" for i in range(1, args.users + 1)]
    for i, login in enumerate(logins, 1):
        t.user(login, f"User {i}", str(100 + i))
    t.employees(*logins[:args.employees])
    uids = [t.users[x] for x in logins]
    with psycopg.connect(pipe.stack["pg_dsn"]) as conn:
        # Bulk rows the CRM owns (crmctl per row would take minutes): mobile +7916<g>, a work
        # phone on even ones, a responsible on nine in ten; open deals on a third, and a more
        # recent won deal beside some of them that the last-active-deal rule must skip.
        conn.execute(
            "INSERT INTO counterparties (tenant_id, name, mobile_phone_raw, mobile_phone,"
            " work_phone_raw, work_phone, responsible_user_id)"
            " SELECT %s, 'Company ' || g, '8916' || lpad(g::text, 7, '0'),"
            " '+7916' || lpad(g::text, 7, '0'),"
            " CASE WHEN g %% 2 = 0 THEN '+7 495 ' || lpad(g::text, 7, '0') END,"
            " CASE WHEN g %% 2 = 0 THEN '+7495' || lpad(g::text, 7, '0') END,"
            " CASE WHEN g %% 10 <> 0 THEN (%s::bigint[])[1 + g %% %s] END"
            " FROM generate_series(1, %s) g",
            (t.id, uids, len(uids), args.counterparties))
        conn.execute(
            "INSERT INTO deals (tenant_id, counterparty_id, title, stage, last_activity_at)"
            " SELECT tenant_id, id, 'Deal ' || id, 'open', now() - (id %% 997) * interval '1 min'"
            " FROM counterparties WHERE tenant_id = %s AND id %% 3 = 0", (t.id,))
        conn.execute(
            "INSERT INTO deals (tenant_id, counterparty_id, title, stage, last_activity_at)"
            " SELECT tenant_id, id, 'Won ' || id, 'won', now()"
            " FROM counterparties WHERE tenant_id = %s AND id %% 6 = 0", (t.id,))
        conn.execute("ANALYZE counterparties")
        conn.execute("ANALYZE deals")
        deals = conn.execute("SELECT count(*) FROM deals WHERE tenant_id = %s", (t.id,)).fetchone()
    t.deal_count = deals[0]
    return t


MIX = ("70 % answered (RINGING x, ANSWERED x, HANGUP x with recording, the recording "
       "redelivered); 20 % missed (RINGING x, RINGING y as the call hunts on, MISSED, MISSED "
       "redelivered); 10 % group ringing (RINGING x and y at once, ANSWERED y, HANGUP y with "
       "recording). Callers: 60 % counterparties' numbers (mobile or work, as UIS writes them), "
       "38 % new numbers (a tenth of them calling again), 2 % hidden. Extensions: 90 % mapped, "
       "7 % absent, 3 % unmapped (both go to every settings employee).")


class Calls:
    """A realistic mix, four notifications a call (their offsets within --call-span):
    70 % answered   RINGING x, ANSWERED x, HANGUP x with recording, the recording redelivered
    20 % missed     RINGING x, RINGING y (the call hunts on), MISSED, MISSED redelivered
    10 % group      RINGING x, RINGING y (same moment), ANSWERED y, HANGUP y with recording
    Callers: 60 % counterparties' numbers (mobile or work, as UIS writes them), 38 % new numbers
    (a tenth of them calling again), 2 % hidden. Extensions: 90 % mapped, 7 % absent, 3 %
    unmapped (both go to every settings employee)."""

    def __init__(self, args, rng):
        self.args, self.rng = args, rng
        self.next_id = rng.randint(10**10, 9 * 10**10)
        self.recent_new = []

    def caller(self):
        r = self.rng.random()
        if r < 0.60:
            g = self.rng.randint(1, self.args.counterparties)
            if g % 2 == 0 and self.rng.random() < 0.5:
                return f"7495{g:07d}"
            return self.rng.choice((f"7916{g:07d}", f"8916{g:07d}"))
        if r < 0.98:
            if self.recent_new and self.rng.random() < 0.1:
                return self.rng.choice(self.recent_new)
            n = f"7903{self.rng.randint(0, 9999999):07d}"
            self.recent_new = (self.recent_new + [n])[-200:]
            return n
        return ""

    def ext(self):
        r = self.rng.random()
        if r < 0.90:
            return str(100 + self.rng.randint(1, self.args.users))
        return "" if r < 0.97 else "999"

    def call(self):
        self.next_id += 1
        cid, frm, x, y = str(self.next_id), self.caller(), self.ext(), self.ext()
        rec = REC.format(cid, uuid.uuid4().hex[:6])
        s = self.args.call_span
        r = self.rng.random()
        if r < 0.70:
            kind, notes = "answered", [(0, "RINGING", x, None), (s * 0.3, "ANSWERED", x, None),
                                       (s * 0.7, "HANGUP", x, rec), (s, "HANGUP", x, rec)]
        elif r < 0.90:
            kind, notes = "missed", [(0, "RINGING", x, None), (s * 0.3, "RINGING", y, None),
                                     (s * 0.7, "MISSED", None, None), (s, "MISSED", None, None)]
        else:
            kind, notes = "group", [(0, "RINGING", x, None), (0.02, "RINGING", y, None),
                                    (s * 0.4, "ANSWERED", y, None), (s, "HANGUP", y, rec)]
        return cid, kind, [(off, state, uis_body(cid, state, frm, ext, r).encode())
                           for off, state, ext, r in notes]

    def step(self, rate, seconds):
        """Calls starting as a Poisson process of rate/4 calls/s over seconds; returns the
        calls and the send schedule [(offset, body)] with, per call, the indices of its
        notifications in that schedule."""
        calls, items, t = [], [], self.rng.expovariate(rate / 4.0)
        while t < seconds:
            cid, kind, notes = self.call()
            calls.append({"id": cid, "kind": kind, "start": t, "states": [n[1] for n in notes]})
            for j, (off, _, body) in enumerate(notes):
                items.append((t + off, len(calls) - 1, j, body))
            t += self.rng.expovariate(rate / 4.0)
        items.sort(key=lambda x: x[0])
        for c in calls:
            c["idx"] = [None] * 4
        for i, (_, ci, j, _) in enumerate(items):
            calls[ci]["idx"][j] = i
        return calls, [(off, body) for off, _, _, body in items]


# ---------------------------------------------------------------- /proc sampling

def read_proc(pid):
    """(cpu ticks, rss bytes, ppid) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(rest[11]) + int(rest[12]), int(rest[21]) * PAGE, int(rest[1])


def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def box_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class Sampler(threading.Thread):
    """CPU ticks per pid and RSS per group every half second. Groups whose processes share
    memory (PostgreSQL) count proportional set size so shared buffers count once."""

    def __init__(self, groups):
        super().__init__(daemon=True)
        self.groups, self.samples, self.stop = groups, [], threading.Event()

    def pids(self):
        out = {g: list(p) for g, p in self.groups.items() if g != "postgresql"}
        pm = self.groups.get("postgresql")
        if pm:
            kids = []
            for d in os.listdir("/proc"):
                if d.isdigit():
                    st = read_proc(int(d))
                    if st and st[2] == pm[0]:
                        kids.append(int(d))
            out["postgresql"] = [pm[0], *kids]
        return out

    def snapshot(self):
        snap = {"t": time.time(), "box": box_ticks(), "cpu": {}, "rss": {}}
        for g, pids in self.pids().items():
            cpu, rss = {}, 0
            for pid in pids:
                st = read_proc(pid)
                if st:
                    cpu[pid] = st[0]
                    rss += (pss(pid) or st[1]) if g == "postgresql" else st[1]
            snap["cpu"][g], snap["rss"][g] = cpu, rss
        return snap

    def run(self):
        while not self.stop.wait(0.5):
            self.samples.append(self.snapshot())


def cpu_between(a, b):
    """Per group: % of one core used between snapshots a and b; and the box's busy %."""
    wall = b["t"] - a["t"]
    out = {}
    for g, ticks in b["cpu"].items():
        before = a["cpu"].get(g, {})
        out[g] = 100.0 * sum(v - before.get(pid, 0) for pid, v in ticks.items()) / CLK / wall
    (b0, t0), (b1, t1) = a["box"], b["box"]
    return out, 100.0 * (b1 - b0) / max(1, t1 - t0)


# ---------------------------------------------------------------- run

class Observed:
    """What the SSE readers and the contacts reader saw, keyed by call id."""

    def __init__(self, sse_q, contacts_q):
        self.sse_q, self.contacts_q = sse_q, contacts_q
        self.popup_first, self.popup_events = {}, 0
        self.contact_first, self.contact_final = {}, {}
        self.sse_closed, self.cpu = 0, {}

    def pump(self):
        for q, name in ((self.sse_q, "sse"), (self.contacts_q, "contacts")):
            while True:
                try:
                    kind, data = q.get_nowait()
                except Exception:  # noqa: BLE001 - queue.Empty from another module
                    break
                if kind == "cpu":
                    self.cpu[name] = data
                elif kind == "closed":
                    self.sse_closed = max(self.sse_closed, data)
                elif kind == "events" and name == "sse":
                    self.popup_events += len(data)
                    for cid, _user, _state, _action, t in data:
                        if t < self.popup_first.get(cid, 1e18):
                            self.popup_first[cid] = t
                elif kind == "events":
                    for cid, state, t, _kts in data:
                        if t < self.contact_first.get(cid, 1e18):
                            self.contact_first[cid] = t
                        if state in ("completed", "missed") and cid not in self.contact_final:
                            self.contact_final[cid] = t


def wait_kind(q, kind, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            k, data = q.get(timeout=max(0.01, deadline - time.time()))
        except Exception:  # noqa: BLE001
            break
        if k == kind:
            return data
    raise RuntimeError(f"no {kind!r} from a load process in {timeout}s")


def run_step(rate, seconds, gen, sender, obs, sampler, label):
    calls, schedule = gen.step(rate, seconds)
    t0 = time.time() + 0.3
    sender.send(("step", schedule, t0))
    snap0 = None
    while not sender.poll(0.1):
        obs.pump()
        if snap0 is None and time.time() >= t0:
            snap0 = sampler.snapshot()
    res = sender.recv()
    snap1 = sampler.snapshot()
    recs = res["records"]
    # Let the pipeline finish the step's calls (bounded): every popup and final contact seen.
    deadline = time.time() + 5
    while time.time() < deadline:
        obs.pump()
        if all(c["id"] in obs.popup_first and c["id"] in obs.contact_final for c in calls):
            break
        time.sleep(0.1)
    obs.pump()
    offsets = [off for off, _ in schedule]
    return analyse(label, rate, seconds, calls, offsets, recs, res["cpu_s"], obs, snap0, snap1,
                   t0)


def analyse(label, rate, seconds, calls, offsets, recs, sender_cpu, obs, snap0, snap1, t0):
    sent = [r for r in recs if r]
    ok = [r for r in sent if 200 <= r[2] < 300 and r[0]]
    first, last = min(r[0] for r in sent), max(r[0] for r in sent)
    # Sender behind its schedule, per notification: sent - (t0 + offset).
    lag = [r[0] - (t0 + off) for r, off in zip(recs, offsets) if r]
    # Achieved against the schedule itself (a Poisson count varies around rate x seconds): the
    # 2xx share of what was planned, stretched by how late the last one left.
    late = max(0.0, last - (t0 + offsets[-1]))
    achieved_ratio = len(ok) / len(recs) * offsets[-1] / (offsets[-1] + late)
    achieved = len(ok) / (seconds + late)
    ack = [r[1] - r[0] for r in ok]
    popup, contact, final, missing_popup, missing_contact, series = [], [], [], 0, 0, []
    for c in calls:
        ring = recs[c["idx"][0]]
        end_j = next(j for j, s in enumerate(c["states"]) if s in ("HANGUP", "MISSED"))
        end = recs[c["idx"][end_j]]
        p = obs.popup_first.get(c["id"])
        k = obs.contact_first.get(c["id"])
        f = obs.contact_final.get(c["id"])
        pl = p - ring[0] if p else None
        kl = k - ring[0] if k else None
        if pl is None:
            missing_popup += 1
        else:
            popup.append(pl)
        if kl is None:
            missing_contact += 1
        else:
            contact.append(kl)
        if f:
            final.append(f - end[0])
        series.append((ring[0], pl, kl))
    cpu, box = cpu_between(snap0, snap1) if snap0 else ({}, None)
    wall = snap1["t"] - snap0["t"] if snap0 else seconds
    if box is not None:
        # What else ran on the box meanwhile (other users of this machine), in % of one core.
        cpu["other processes"] = max(0.0, box * (os.cpu_count() or 1) - sum(cpu.values()))
    s = {
        "label": label, "rate": rate, "seconds": seconds, "calls": len(calls),
        "notifications": len(recs), "ok": len(ok), "non2xx": len(sent) - len(ok),
        "unsent": len(recs) - len(sent), "achieved": achieved,
        "achieved_ratio": achieved_ratio, "lag_p99": pct(lag, 99), "ack_p50": pct(ack, 50),
        "ack_p99": pct(ack, 99), "popup_p50": pct(popup, 50), "popup_p99": pct(popup, 99),
        "popup_max": max(popup) if popup else None, "missing_popup": missing_popup,
        "contact_p50": pct(contact, 50), "contact_p99": pct(contact, 99),
        "final_p50": pct(final, 50), "final_p99": pct(final, 99),
        "missing_contact": missing_contact, "cpu": cpu, "box_cpu": box,
        "sender_cpu_pct": 100.0 * sender_cpu / max(1e-9, wall), "series": series,
        "span": (first, last), "sent_ts": [r[0] for r in ok],
    }
    reasons = []
    if s["popup_p99"] is None or s["popup_p99"] >= LIMIT_P99_MS / 1000:
        reasons.append(f"p99 popup {ms(s['popup_p99'])} ms ≥ {LIMIT_P99_MS:.0f} ms")
    if missing_popup:
        reasons.append(f"{missing_popup} calls without popup")
    if s["non2xx"] or s["unsent"]:
        reasons.append(f"{s['non2xx'] + s['unsent']} webhooks not 2xx")
    if achieved_ratio < 0.95 or (s["lag_p99"] or 0) > 0.1:
        reasons.append(f"load behind (achieved {achieved:.0f}/s, lag p99 {ms(s['lag_p99'])} ms)")
    s["verdict"] = "; ".join(reasons) or "ok"
    return s


def print_step(s):
    print(f"  {s['label']:>8} {s['rate']:5d}/s: achieved {s['achieved']:7.1f}/s "
          f"({s['calls']} calls, {s['non2xx']} non-2xx) | ack p99 {ms(s['ack_p99'])} ms | "
          f"popup p50/p99/max {ms(s['popup_p50'])}/{ms(s['popup_p99'])}/{ms(s['popup_max'])} ms "
          f"(missing {s['missing_popup']}) | contact p50/p99 {ms(s['contact_p50'])}/"
          f"{ms(s['contact_p99'])} ms, final {ms(s['final_p50'])}/{ms(s['final_p99'])} ms | "
          f"box CPU {s['box_cpu'] or 0:.0f} % of 2 cores | {s['verdict']}", flush=True)


def stack_pids(env):
    kafka = None
    try:
        kafka = int(Path(env["STACK_RUN_DIR"], "kafka.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    pg = None
    try:
        pg = int(Path(env["PG_DATA"], "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return kafka, pg


def main():
    args = parse_args()
    rates = [args.rate] if args.rate else [int(x) for x in args.steps.split(",") if x.strip()]
    rng = random.Random(args.seed)
    env = stack_env()
    stack = {"brokers": env["KAFKA_BROKERS"], "pg_dsn": env["PG_DSN"]}
    topics = contextlib.ExitStack()
    new_topic = topics.enter_context(own_topics(stack["brokers"], "bench."))
    started = time.time()
    ctx = mp.get_context("spawn")
    pipe = Pipeline(stack, new_topic)
    for svc in pipe.services.values():
        svc.env["LOG_LEVEL"] = args.log_level
    procs, sampler = [], None
    try:
        pipe.start()
        pids = ", ".join(f"{n} pid {s.proc.pid}" for n, s in pipe.services.items())
        print(f"pipeline up ({pids})", flush=True)
        t = make_tenant(pipe, args)
        print(f"tenant {t.id}: {args.users} users with extensions, {args.employees} employees, "
              f"{args.counterparties} counterparties, {t.deal_count} deals", flush=True)
        tokens = {uid: t.token(login) for login, uid in t.users.items()}
        path = "/" + t.url.split("/", 3)[3]

        sse_q, sse_ctl = ctx.Queue(), ctx.Queue()
        contacts_q, contacts_ctl = ctx.Queue(), ctx.Queue()
        parent_end, child_end = ctx.Pipe()
        procs = [
            ctx.Process(target=load.sse_main, args=(pipe.notifier_port, tokens, sse_q, sse_ctl),
                        daemon=True),
            ctx.Process(target=load.contacts_main,
                        args=(stack["brokers"], pipe.topics["TOPIC_CONTACTS"], t.id, contacts_q,
                              contacts_ctl), daemon=True),
            ctx.Process(target=load.sender_main,
                        args=(pipe.ingest_port, path, args.connections, child_end), daemon=True),
        ]
        for p in procs:
            p.start()
        ready = wait_kind(sse_q, "ready", 30)
        connected = sum(1 for _, st in ready if st == 200)
        parts = wait_kind(contacts_q, "ready", 40)
        print(f"{connected}/{len(tokens)} users connected on SSE; contacts reader on {parts} "
              "partitions", flush=True)

        kafka_pid, pg_pid = stack_pids(env)
        groups = {n: [s.proc.pid] for n, s in pipe.services.items()}
        if kafka_pid:
            groups["kafka"] = [kafka_pid]
        if pg_pid:
            groups["postgresql"] = [pg_pid]
        groups["load generator"] = [os.getpid(), *[p.pid for p in procs]]
        sampler = Sampler(groups)
        idle = sampler.snapshot()
        sampler.start()
        obs = Observed(sse_q, contacts_q)
        gen = Calls(args, rng)

        print("warm-up: 5 s at 40 notifications/s (not reported)", flush=True)
        run_step(40, 5, gen, parent_end, obs, sampler, "warm-up")
        steps = []
        for rate in rates:
            s = run_step(rate, args.seconds, gen, parent_end, obs, sampler, f"{rate}/s")
            steps.append(s)
            print_step(s)
            if s["verdict"] != "ok" and not args.no_stop:
                break
        end = sampler.snapshot()
        parent_end.send(None)
        sse_ctl.put(None)
        contacts_ctl.put(None)
        time.sleep(0.5)
        obs.pump()
    finally:
        if sampler:
            sampler.stop.set()
        for p in procs:
            p.join(timeout=3)
            if p.is_alive():
                p.terminate()
        codes = pipe.stop()
        topics.close()
    print(f"services stopped (exit codes {codes}); run took {time.time() - started:.0f} s")
    report = write_report(args, t, steps, sampler, idle, end, connected, started, obs)
    print()
    print(report)


# ---------------------------------------------------------------- report

def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in open("/proc/meminfo") if x.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return f"{os.cpu_count()} cores ({model}), {mem / 1048576:.0f} GiB RAM, {platform.platform()}"


def git_rev():
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def write_report(args, tenant, steps, sampler, idle, end, connected, started, obs):
    ok = [s for s in steps if s["verdict"] == "ok"]
    best = max(ok, key=lambda s: s["rate"]) if ok else None
    goal_step = next((s for s in steps if s["rate"] >= GOAL_RATE), None)
    L = []
    L.append("# Pipeline benchmark")
    L.append("")
    L.append(f"`tests/bench/pipeline/run` on {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
             f"commit {git_rev()}, Release build.")
    L.append("")
    L.append(f"**Machine**: {machine()}. Everything runs on it at once: Apache Kafka (single "
             "KRaft node), PostgreSQL 15, the four services (one replica each: ingest, router, "
             "crm-writer, notifier), the load generator, the SSE clients and the contacts "
             "reader. The figures are those of the whole box, not of one service.")
    L.append("")
    L.append("## Setup")
    L.append("")
    L.append(f"* Tenant `{tenant.id}`: {args.users} users each on an extension (101…), "
             f"{args.employees} settings employees, {args.counterparties} counterparties "
             f"(direct SQL), {tenant.deal_count} deals (open ones on a third of the "
             "counterparties, a newer won deal beside half of those); `notify_responsible_only` "
             "on; contacts, last-active-deal history and missed-call tasks on.")
    L.append(f"* {connected} of {args.users} users connected on SSE (HTTP/1.1, chunked); "
             f"{obs.sse_closed} of the streams ended by the server during the run.")
    L.append("* Calls, four notifications each: " + MIX + f" A call's notifications span "
             f"{args.call_span} s; calls start as a Poisson process at rate/4 calls/s.")
    L.append(f"* Load: open loop, {args.connections} HTTP/1.1 keep-alive connections from one "
             "asyncio process; a notification leaves at its scheduled time whatever the answers "
             "to earlier ones. Steps of "
             f"{args.seconds:.0f} s after a 5 s warm-up; the run stops at the first step with "
             f"p99 webhook → popup ≥ {LIMIT_P99_MS:.0f} ms, a lost popup, a non-2xx answer, or "
             "the load falling behind (achieved < 95 % of the schedule or p99 schedule lag "
             "> 100 ms).")
    L.append("* Topics of 3 partitions; services at LOG_LEVEL=" + args.log_level +
             ", defaults otherwise (one replica each; crm-writer BATCH_WAIT_MS 50 ms, which "
             "sets most of the webhook → contact figure at low rates).")
    L.append("* **webhook → popup**: the POST of a call's first RINGING leaving the client → the "
             "first SSE event for that call arriving at a user. **webhook → contact**: the same "
             "POST → the call's first `crm.contacts.v1` event read by a consumer (the writer "
             "emits it after the upsert commits); **→ final**: the POST of the call's recording "
             "or MISSED → the contact event in state completed/missed. **ack**: the POST → its "
             "200 (ingest answers once Kafka acknowledged).")
    L.append("")
    L.append("## Results per step")
    L.append("")
    L.append("| rate, notif./s | achieved/s | calls | non-2xx | ack p99, ms | popup p50, ms | "
             "popup p99, ms | popup max, ms | popups missing | contact p50, ms | contact p99, "
             "ms | final p50, ms | final p99, ms | box CPU busy | verdict |")
    L.append("|" + "---:|" * 14 + "---|")
    for s in steps:
        L.append(f"| {s['rate']} | {s['achieved']:.0f} | {s['calls']} | {s['non2xx']} | "
                 f"{ms(s['ack_p99'])} | {ms(s['popup_p50'])} | {ms(s['popup_p99'])} | "
                 f"{ms(s['popup_max'])} | {s['missing_popup']} | {ms(s['contact_p50'])} | "
                 f"{ms(s['contact_p99'])} | {ms(s['final_p50'])} | {ms(s['final_p99'])} | "
                 f"{s['box_cpu'] or 0:.0f} % | {s['verdict']} |")
    L.append("")
    L.append("## Sustained maximum and the goal")
    L.append("")
    if best:
        L.append(f"* Highest step passed: **{best['rate']} notifications/s** "
                 f"({best['rate'] / 4:.0f} calls/s) with p99 webhook → popup "
                 f"{ms(best['popup_p99'])} ms (p50 {ms(best['popup_p50'])} ms) and p99 webhook → "
                 f"contact {ms(best['contact_p99'])} ms.")
    else:
        L.append("* No step passed.")
    failed = [s for s in steps if s["verdict"] != "ok"]
    if failed:
        f = failed[0]
        L.append(f"* First step that failed: {f['rate']}/s — {f['verdict']}.")
    elif steps:
        L.append("* Every step passed: the ceiling is above the last rate tried.")
    ratio = (best["rate"] / GOAL_RATE) if best else 0.0
    L.append(f"* Goal: {GOAL_RATE} notifications/s sustained with p99 webhook → popup < "
             f"{GOAL_P99_MS:.0f} ms. Reached: **{ratio:.2f}×** the goal rate (passing at "
             f"< {LIMIT_P99_MS:.0f} ms).")
    under50 = [s for s in steps if s["popup_p99"] is not None
               and s["popup_p99"] < GOAL_P99_MS / 1000 and s["verdict"] == "ok"]
    if under50:
        top = max(under50, key=lambda s: s["rate"])
        L.append(f"* Highest step with p99 < {GOAL_P99_MS:.0f} ms: {top['rate']}/s "
                 f"({top['rate'] / GOAL_RATE:.2f}× the goal rate).")
    if goal_step:
        L.append(f"* At {goal_step['rate']}/s: p99 popup {ms(goal_step['popup_p99'])} ms "
                 f"({(goal_step['popup_p99'] or 0) * 1000 / GOAL_P99_MS:.2f}× the goal's "
                 f"{GOAL_P99_MS:.0f} ms), achieved {goal_step['achieved']:.0f}/s.")
    L.append("")
    L.append("## CPU and memory per process")
    L.append("")
    L.append("CPU in % of one core over each step (the box has "
             f"{os.cpu_count()} cores = {100 * (os.cpu_count() or 1)} %); RSS in MiB, idle "
             "before the first step and the peak over the run (PostgreSQL: proportional set "
             "size of the postmaster and all backends, so shared buffers count once). \"Other "
             "processes\" is what the box spent outside the benchmark's processes (other work "
             "on this shared machine; near 0 % means the box was quiet).")
    L.append("")
    groups = list(idle["cpu"].keys()) + ["other processes"]
    L.append("| process | " + " | ".join(f"CPU @ {s['rate']}/s" for s in steps) +
             " | RSS idle | RSS peak |")
    L.append("|---|" + "---:|" * (len(steps) + 2))
    peaks = {g: max([x["rss"].get(g, 0) for x in sampler.samples + [end]]) for g in idle["rss"]}
    for g in groups:
        rss = (f"{idle['rss'][g] / 1048576:.1f} | {peaks[g] / 1048576:.1f}"
               if g in idle["rss"] else "|")
        L.append(f"| {g} | " + " | ".join(f"{s['cpu'].get(g, 0):.0f} %" for s in steps) +
                 f" | {rss} |")
    L.append("| **box (all processes)** | " +
             " | ".join(f"{(s['box_cpu'] or 0) * (os.cpu_count() or 1):.0f} %" for s in steps) +
             " | | |")
    L.append("")
    L.append("Load generator alone (sender process): " + ", ".join(
        f"{s['rate']}/s → {s['sender_cpu_pct']:.0f} %" for s in steps) +
        " of one core; it kept its schedule within " +
        ", ".join(f"{ms(s['lag_p99'])}" for s in steps) + " ms (p99 lag per step).")
    L.append("")
    L.append("## Latency over time")
    L.append("")
    L.append("![webhook → popup and webhook → contact latency over the run]"
             "(../../../docs/performance-pipeline.png)")
    L.append("")
    L.append(f"(`{args.plot}`; whole run {time.time() - started:.0f} s.)")
    text = "\n".join(L) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    plot(args, steps, sampler)
    return text


def plot(args, steps, sampler):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot (pip install matplotlib)", file=sys.stderr)
        return
    if not steps:
        return
    t0 = steps[0]["span"][0]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.3]})
    for s in steps:
        xs = [(x - t0) for x, p, _ in s["series"] if p is not None]
        ax.scatter(xs, [p * 1000 for _, p, _ in s["series"] if p is not None], s=3,
                   color="tab:blue", alpha=0.4, linewidths=0)
        xk = [(x - t0) for x, _, k in s["series"] if k is not None]
        ax.scatter(xk, [k * 1000 for _, _, k in s["series"] if k is not None], s=3,
                   color="tab:orange", alpha=0.3, linewidths=0)
        # p99 per second of each series
        for key, col, lab in ((1, "navy", "popup p99/s"), (2, "darkred", "contact p99/s")):
            buckets = {}
            for row in s["series"]:
                if row[key] is not None:
                    buckets.setdefault(int(row[0] - t0), []).append(row[key])
            xsb = sorted(buckets)
            ax.plot([x + 0.5 for x in xsb], [pct(buckets[x], 99) * 1000 for x in xsb],
                    color=col, lw=1.2, label=lab if s is steps[0] else None)
        a, b = s["span"][0] - t0, s["span"][1] - t0
        ax.axvspan(a, b, color="green" if s["verdict"] == "ok" else "red", alpha=0.05)
        ax.text((a + b) / 2, 0.02, f"{s['rate']}/s", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=8)
    ax.axhline(LIMIT_P99_MS, color="red", ls="--", lw=0.8, label="100 ms (sustained limit)")
    ax.axhline(GOAL_P99_MS, color="green", ls="--", lw=0.8, label="50 ms (goal)")
    ax.scatter([], [], s=8, color="tab:blue", label="webhook → popup (per call)")
    ax.scatter([], [], s=8, color="tab:orange", label="webhook → contact (per call)")
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms")
    fig.suptitle("Pipeline benchmark: UIS webhook → SSE popup / contact event, stepped rate "
                 "(notifications/s)", fontsize=11)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=7, ncol=3, frameon=False)
    ax.grid(True, which="both", alpha=0.3)
    # bottom: achieved sends per second and box CPU
    sends = {}
    for s in steps:
        for x in s["sent_ts"]:
            sends[int(x - t0)] = sends.get(int(x - t0), 0) + 1
    xs = sorted(sends)
    ax2.plot(xs, [sends[x] for x in xs], color="tab:green", lw=1,
             label="webhooks answered 2xx per second")
    ax2.set_ylabel("notifications/s")
    ax3 = ax2.twinx()
    smp = [x for x in sampler.samples if x["t"] >= steps[0]["span"][0] - 1]
    bx, by = [], []
    for p, q in zip(smp, smp[1:]):
        bx.append(q["t"] - t0)
        by.append(cpu_between(p, q)[1])
    ax3.plot(bx, by, color="gray", lw=0.8, label="box CPU busy %")
    ax3.set_ylim(0, 105)
    ax3.set_ylabel("box CPU %")
    ax2.set_xlabel("seconds since the first step")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7)
    ax2.grid(True, alpha=0.3)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
