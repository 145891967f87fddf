"""The whole product on the real stack, driven from the outside (issue 8): its own topics, the
four services started from BUILD_DIR, tenants installed with crmctl, webhooks posted to ingest
as UIS sends them, popups read from the notifier's SSE streams, rows read with crmctl --json."""
import base64
import contextlib
import os
import random
import subprocess
import threading
import time
import urllib.parse
import uuid

import requests

import harness
from harness import wait_until  # noqa: F401
from pipeline_support import BUILD_DIR, TEST_KEY_ID, TEST_KEYS, Service, free_port, own_topics

CRMCTL = str(BUILD_DIR / "crm-writer" / "crmctl")
JWT_SECRET = base64.b64encode(b"popup-secret-for-tests-0123456789").decode()


def uis_body(call_id, state, frm, ext=None, rec=None, virtual="74993482958"):
    """A body as UIS renders the guide's templates: variables without quotes."""
    url = f'\n    "call_record_url":{rec},' if rec else ""
    ext_text = "null" if state == "MISSED" else (ext or "")
    return (f'{{\n    "from_number":{frm or ""},\n    "diversion":{virtual},\n'
            f'    "direction":in,\n    "call_id":{call_id},\n'
            f'    "user_extension":{ext_text},{url}\n    "call_state":"{state}"\n}}')


class SSE(harness.SSE):
    """One user's popup stream; .events are (id, event, data) tuples in the order received."""

    def __init__(self, base, token, last_event_id=None):
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        url = urllib.parse.urlsplit(base)
        super().__init__(url.port, "/v1/popups/stream?" + urllib.parse.urlencode({"token": token}),
                         headers)

    @property
    def events(self):
        return [(e["id"], e["event"], e["data"]) for e in self.seen]

    def popups(self):
        return [d for _, _, d in self.events if isinstance(d, dict) and "popup_id" in d]

    def states(self, call_id):
        return [p["state"] for p in self.popups() if p["call_id"] == call_id]


class Tenant(harness.Tenant):
    """A tenant of the pipeline: crmctl, webhooks posted to its URL, popup streams."""

    def __init__(self, pipe, tid, url):
        super().__init__(tid, pipe.ctl)
        self.pipe, self.url = pipe, url

    def post(self, call_id, state, frm, ext=None, rec=None):
        r = requests.post(self.url, data=uis_body(call_id, state, frm, ext, rec), timeout=15)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()["event_id"]

    def contact(self, call_id):
        return next((c for c in self.list("contacts") if c["call_id"] == call_id), None)

    def token(self, login):
        return self.ctl("popup-token", self.id, str(self.users[login])).strip()

    def stream(self, login, **kw):
        s = SSE(self.pipe.notifier_url, self.token(login), **kw)
        self.pipe.streams.append(s)
        assert s.status == 200
        return s


class Pipeline:
    @classmethod
    @contextlib.contextmanager
    def on_own_topics(cls, stack):
        """A started Pipeline on topics made for it; on exit it is stopped (the services' exit
        codes in .exit_codes) and its topics are deleted."""
        with own_topics(stack["brokers"]) as new_topic:
            p = cls(stack, new_topic).start()
            try:
                yield p
            finally:
                p.exit_codes = p.stop()

    def __init__(self, stack, new_topic, replicas=1):
        self.stack = stack
        parts = 3
        self.topics = {
            "TOPIC_CALL_EVENTS": new_topic("p-events", parts),
            "TOPIC_REJECTED": new_topic("p-rejected", parts),
            "TOPIC_ACTIONS": new_topic("p-actions", parts),
            "TOPIC_POPUPS": new_topic("p-popups", parts),
            "TOPIC_DLQ": new_topic("p-dlq", parts),
            "TOPIC_CONTACTS": new_topic("p-contacts", parts),
            "TOPIC_TENANT_TOKENS": new_topic("p-tokens", 1, {"cleanup.policy": "compact"}),
            "TOPIC_POPUP_USERS": new_topic("p-popup-users", 1, {"cleanup.policy": "compact"}),
            "TOPIC_CALL_REQUESTS": new_topic("p-call-requests", parts),
            "TOPIC_DIAL_READINESS": new_topic("p-dial-readiness", 1, {"cleanup.policy": "compact"}),
        }
        self.ingest_port = free_port()
        self.notifier_port = free_port()
        self.notifier_url = f"http://127.0.0.1:{self.notifier_port}"
        run = uuid.uuid4().hex[:6]
        self.env = dict(self.topics, KAFKA_BROKERS=stack["brokers"], PG_DSN=stack["pg_dsn"],
                        WEBHOOK_KEYS=TEST_KEYS, WEBHOOK_KEY_ID=TEST_KEY_ID,
                        POPUP_JWT_SECRET=JWT_SECRET,
                        PUBLIC_WEBHOOK_BASE=f"http://127.0.0.1:{self.ingest_port}")
        self.ctl("migrate")
        self.groups = {"crm-writer": f"w-{run}", "router": f"r-{run}"}
        self.services = {
            # Static membership, as in Kubernetes: a restarted replica takes its partitions back
            # at once instead of waiting for the group to evict the dead one.
            "crm-writer": Service("crm-writer", dict(self.env, CONSUMER_GROUP=f"w-{run}",
                                                     INSTANCE_ID=f"w-{run}-0")),
            "router": Service("router", dict(self.env, CONSUMER_GROUP=f"r-{run}",
                                             INSTANCE_ID=f"r-{run}-0")),
            "notifier": Service("notifier", dict(self.env, HTTP_PORT=str(self.notifier_port))),
            "ingest": Service("ingest", dict(self.env, HTTP_PORT=str(self.ingest_port))),
        }
        self.streams = []

    def start(self):
        for s in self.services.values():
            s.start(ready_timeout=60)
        return self

    def stop(self):
        for s in self.streams:
            s.close()
        codes = {}
        for name in reversed(list(self.services)):
            codes[name] = self.services[name].stop()
        return codes

    def settled(self):
        """Whether every call event has gone through the router and every action through
        crm-writer (their groups have committed all there is)."""
        return (harness.group_lag(self.stack["brokers"], self.topics["TOPIC_CALL_EVENTS"],
                                  self.groups["router"]) == 0 and
                harness.group_lag(self.stack["brokers"], self.topics["TOPIC_ACTIONS"],
                                  self.groups["crm-writer"]) == 0)

    def settle(self, timeout=60):
        """Wait until nothing posted so far is still on its way to PostgreSQL."""
        wait_until(self.settled, timeout, what="router and crm-writer to consume everything")

    def ctl(self, *args):
        # the harness reads the addresses and tokens crmctl prints: not a terminal
        out = subprocess.run([CRMCTL, "--show-secret", *args], capture_output=True, text=True,
                             env=dict(os.environ, **self.env), timeout=60)
        assert out.returncode == 0, f"crmctl {args}: {out.stderr}"
        return out.stdout

    def tenant(self, tid=None, **settings):
        tid = tid or f"t{uuid.uuid4().hex[:10]}"
        out = self.ctl("tenant", "install", tid, "--name", f"Test {tid}")
        url = out.strip().splitlines()[-1].strip()
        assert url.startswith("http://127.0.0.1:"), out
        t = Tenant(self, tid, url)
        if settings:
            t.set(**settings)
        # ingest learns the token version from the compacted topic: wait for it.
        wait_until(lambda: requests.post(url, data="{}", timeout=5).status_code == 400,
                   what="ingest to accept the new tenant's token")
        return t


@contextlib.contextmanager
def clean_pipeline(stack):
    """Pipeline.on_own_topics for a module fixture: every service must also have exited 0."""
    with Pipeline.on_own_topics(stack) as p:
        yield p
    assert all(c == 0 for c in p.exit_codes.values()), \
        (p.exit_codes, {n: s.logs() for n, s in p.services.items()})


def new_call_id():
    return str(random.randint(10**9, 10**12))


class Supervisor:
    """Restarts a service that exited by itself, as Kubernetes does (a service stops with exit 1
    on a fatal Kafka error, e.g. a static consumer fenced while the group coordinator was away
    longer than its session). A service a test killed (a signal) is the test's to restart. Used
    as a context manager around a running Pipeline."""

    def __init__(self, pipe):
        self.pipe, self.restarts = pipe, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(0.5):
            for name, svc in self.pipe.services.items():
                code = svc.proc.poll() if svc.proc else None
                if code is None or code < 0 or self.stop.is_set():
                    continue
                self.restarts.append((name, code, time.strftime("%H:%M:%S")))
                # A new log file: the exited process's log stays for reading.
                svc.log_path = svc.log_path.with_name(f"{name}-{uuid.uuid4().hex[:6]}.log")
                with contextlib.suppress(AssertionError):
                    svc.start(ready_timeout=120)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(150)

    def take(self):
        """The restarts since the last call."""
        out, self.restarts = self.restarts, []
        return out
