"""Helpers of the notifier system tests: popup tokens, popup messages, a notifier process and
a small Server-Sent Events client that sees the raw stream (ids, event names, the end)."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import queue
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def popup_token(key, tenant, user, ttl=3600, alg="HS256", exp=None):
    """An HS256 popup token as the CRM (crmctl popup-token) mints it, made independently here."""
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps({"tenant": tenant, "sub": str(user),
                              "exp": exp if exp is not None else int(time.time()) + ttl}).encode())
    sig = b64url(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def popup(tenant, user, call, action, state, **extra):
    """One crm.popups.v1 message (docs/architecture.md)."""
    msg = {
        "popup_id": f"{tenant}:{call}:{user}", "tenant": tenant, "user_id": user,
        "call_id": call, "action": action, "state": state, "event_id": str(uuid.uuid4()),
        "caller": {"number": "+79031112233", "formatted": "+7 (903) 111-22-33"},
        "virtual_number": {"number": "+74993482958", "formatted": "+7 (499) 348-29-58"},
        "counterparty": None, "responsible": None, "deal": None, "answered_by": None,
        "direction": "in", "ringing_at": "2024-05-01T10:00:00Z",
        "answered_at": None, "ended_at": None,
    }
    msg.update(extra)
    return msg


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_dir():
    return Path(os.environ.get("BUILD_DIR", REPO / "build"))


class Notifier:
    """A notifier process with its own ports, stopped with SIGTERM."""

    def __init__(self, brokers, topic, secret_b64, log_path, **env):
        self.port = free_port()
        self.ops_port = free_port()
        self.env = {
            **os.environ,
            "KAFKA_BROKERS": brokers, "TOPIC_POPUPS": topic, "POPUP_JWT_SECRET": secret_b64,
            "HTTP_PORT": str(self.port), "OPS_PORT": str(self.ops_port),
            "HEARTBEAT_S": "1", "LOG_LEVEL": "debug",
            # revocation is tested through the whole pipeline (test_pipeline.py)
            "TOPIC_POPUP_USERS": "",
            **{k: str(v) for k, v in env.items()},
        }
        self.log_path = log_path
        self.proc = None

    def start(self, ready_timeout=30):
        binary = build_dir() / "notifier" / "notifier"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(binary)], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + ready_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"notifier exited with {self.proc.returncode}; see "
                                   f"{self.log_path}")
            try:
                if http_get(self.ops_port, "/readyz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"notifier not ready within {ready_timeout}s; see {self.log_path}")

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def metrics(self):
        status, _, body = http_get(self.ops_port, "/metrics")
        assert status == 200
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out


def http_get(port, path, headers=None, timeout=5):
    """A plain HTTP/1.1 GET: (status, headers dict lower-cased, body) — for non-stream replies."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class SSE:
    """A streaming GET read on a thread: events (dicts with id, event, data) go to a queue, in
    the order the server wrote them; `ended` tells whether the server ended the chunked body
    cleanly (the terminating zero-length chunk) and `closed` whether the connection closed."""

    def __init__(self, port, path, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.status, self.headers = self._head()
        self.events = queue.Queue()
        self.comments = 0
        self.ended = False
        self.closed = threading.Event()
        self.body = b""
        if self.status == 200:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        else:
            self.body = self._rest()
            self.closed.set()

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _head(self):
        status = int(self._line().split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                return status, headers
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()

    def _rest(self):
        n = int(self.headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._recv()
        return self.buf[:n]

    def _chunks(self):
        while True:
            size = int(self._line().split(";")[0], 16)
            if size == 0:
                self.ended = True
                return
            while len(self.buf) < size + 2:
                self._recv()
            yield self.buf[:size]
            self.buf = self.buf[size + 2:]

    def _run(self):
        text = ""
        try:
            self.sock.settimeout(None)
            for chunk in self._chunks():
                text += chunk.decode()
                while "\n\n" in text:
                    block, text = text.split("\n\n", 1)
                    self._block(block)
        except (EOFError, OSError):
            pass
        finally:
            self.closed.set()

    def _block(self, block):
        ev = {"id": None, "event": "message", "data": [], "retry": None}
        comment_only = True
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            comment_only = False
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                ev["data"].append(value)
            elif field in ("id", "event", "retry"):
                ev[field] = value
        if comment_only:
            self.comments += 1
            return
        if not ev["data"]:
            return  # the retry preamble
        ev["data"] = json.loads("\n".join(ev["data"]))
        self.events.put(ev)

    def next(self, timeout=10):
        return self.events.get(timeout=timeout)

    def take(self, n, timeout=10):
        return [self.next(timeout) for _ in range(n)]

    def quiet(self, wait=1.0):
        """Events that arrive within wait seconds (expected: none)."""
        out = []
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                out.append(self.events.get(timeout=max(0.01, deadline - time.time())))
            except queue.Empty:
                break
        return out

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def new_secret():
    key = secrets.token_bytes(32)
    return key, base64.b64encode(key).decode()


def make_topic(brokers, partitions=3):
    """A fresh popup topic of this test session; returns (name, admin) for deletion."""
    from confluent_kafka.admin import AdminClient, NewTopic
    name = f"notifier-test-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(30)
    return name, admin


def make_producer(brokers):
    import logging
    from confluent_kafka import Producer
    quiet = logging.getLogger("notifier-test-kafka")
    quiet.setLevel(logging.CRITICAL)
    return Producer({"bootstrap.servers": brokers, "acks": "all",
                     "message.timeout.ms": 20000, "logger": quiet})


def produce(producer, topic, msgs):
    """Produce in order (one call's messages keep their order); return the SSE id
    ("partition-offset") of each message."""
    ids = [None] * len(msgs)

    def done(i):
        def cb(err, m):
            assert err is None, err
            ids[i] = f"{m.partition()}-{m.offset()}"
        return cb

    for i, m in enumerate(msgs):
        producer.produce(topic, key=f"{m['tenant']}:{m['call_id']}", value=json.dumps(m),
                         on_delivery=done(i))
        producer.flush(20)
    assert None not in ids, "not all popup messages were acknowledged"
    return ids
