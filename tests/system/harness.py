"""The system tests' one harness: ports, waiting on state, service processes, the Server-Sent
Events client and the tenant made with crmctl. The *_support.py modules and pipeline_stack.py
build their test-specific helpers on these and re-export the names their tests import."""
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("BUILD_DIR", REPO / "build"))
ARTIFACTS = REPO / "tests" / "artifacts"
CRMCTL = BUILD_DIR / "crm-writer" / "crmctl"
TIMEOUT = 60


def binary(name):
    """The path of a service's binary in BUILD_DIR (crm-writer, crmctl, router, ...)."""
    folder = "crm-writer" if name in ("crm-writer", "crmctl") else name
    return BUILD_DIR / folder / name


def in_ci():
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def needs_binaries(*paths):
    """A module's pytestmark for the binaries it drives: a skip on a developer's machine that
    has not built them, a failure under CI (conftest's `requires` marker), where a missing
    binary is a broken build and a silent skip would pass it."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    return pytest.mark.requires(not missing,
                                f"not built: {', '.join(missing)} (BUILD_DIR={BUILD_DIR})")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout=TIMEOUT, interval=0.2, what="condition"):
    """The first truthy result of check(), polled until timeout; an AssertionError naming what
    was awaited (and the last result) otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_text(port, path, timeout=3):
    """(status, body text) of a GET on 127.0.0.1; (None, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def parse_metrics(text):
    """{sample name with labels: value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def sum_metric(samples, name, labels=""):
    """Sum of the samples of metric name whose labels contain the text labels."""
    return sum(v for k, v in samples.items()
               if k == name or (k.startswith(name + "{") and labels in k))


def group_lag(brokers, topic, group):
    """Messages of topic that consumer group has not committed yet (every partition); None
    while the broker cannot tell yet (a fresh broker answers NOT_COORDINATOR until its offsets
    topic and coordinator are loaded)."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    not_ready = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                 KafkaError.COORDINATOR_NOT_AVAILABLE}
    cons = Consumer({"bootstrap.servers": brokers, "group.id": group,
                     "enable.auto.commit": False})
    try:
        parts = cons.list_topics(topic, timeout=10).topics[topic].partitions
        committed = cons.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        lag = 0
        for tp in committed:
            end = cons.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
            lag += end - (tp.offset if tp.offset >= 0 else 0)
        return lag
    except KafkaException as e:
        if e.args[0].retriable() or e.args[0].code() in not_ready:
            return None
        raise
    finally:
        cons.close()


class Service:
    """One service process: its binary, its environment (given whole), its ops port; started
    and awaited on /readyz, stopped with SIGTERM (SIGKILL after the timeout)."""

    def __init__(self, name, path, env, ops_port, log_path):
        self.name = name
        self.path = Path(path)
        self.env = env
        self.ops_port = ops_port
        self.log_path = Path(log_path)
        self.proc = None
        self.log = None

    def start(self, wait_ready=True, ready_timeout=TIMEOUT):
        assert self.path.exists(), f"{self.path} not built (set BUILD_DIR)"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(self.path), *self.args()], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready(ready_timeout)
        return self

    def args(self):
        return []

    def get(self, path):
        """(status, body text) of GET path on the ops port; (None, reason) when it is down."""
        return http_text(self.ops_port, path)

    def ready(self):
        return self.get("/readyz")[0] == 200

    def wait_ready(self, timeout=TIMEOUT):
        wait_until(lambda: self.proc.poll() is not None or self.ready(), timeout,
                   interval=0.1, what=f"{self.name} /readyz")
        assert self.proc.poll() is None, \
            f"{self.name} exited {self.proc.returncode}:\n{self.logs()[-3000:]}"

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200, body
        return parse_metrics(body)

    def metric(self, name, labels=""):
        """Sum of the samples of a metric whose labels contain the text labels."""
        return sum_metric(self.metrics(), name, labels)

    def histogram(self, name):
        """[(le, cumulative count)] of a histogram, +Inf last."""
        buckets = []
        for key, value in self.metrics().items():
            if key.startswith(name + "_bucket{"):
                le = key.split('le="')[1].split('"')[0]
                buckets.append((float("inf") if le == "+Inf" else float(le), value))
        return buckets

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close_log()

    def stop(self, sig=signal.SIGTERM, timeout=30, must_obey=False):
        """Stop the process; its exit code. must_obey: an AssertionError when it ignored sig
        for timeout seconds (it is killed all the same)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._close_log()
                if must_obey:
                    raise AssertionError(f"{self.name} ignored {sig!r} for {timeout}s")
        self._close_log()
        return self.proc.returncode

    def _close_log(self):
        if self.log:
            self.log.close()
            self.log = None

    def logs(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SSE:
    """A streaming GET of text/event-stream read on a thread, over a plain socket so that it
    sees the raw stream: events (dicts with id, event, data, retry) in the order the server
    wrote them, both in .seen and in a queue for next/take/quiet; `comments` counts comment-only
    blocks (heartbeats), `ended` tells whether the server ended the chunked body cleanly and
    `closed` whether the connection closed. Replies other than 200 are read whole into .body."""

    def __init__(self, port, path, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.status, self.headers = self._head()
        self.queue = queue.Queue()
        self.seen = []
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

    @classmethod
    def at(cls, base, path, params=None, headers=None):
        """A stream of base (http://host:port) + path with query params."""
        url = urllib.parse.urlsplit(base)
        if params:
            path += "?" + urllib.parse.urlencode(params)
        return cls(url.port, path, headers)

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
        except (EOFError, OSError, ValueError):
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
        self.seen.append(ev)
        self.queue.put(ev)

    def next(self, timeout=10):
        return self.queue.get(timeout=timeout)

    def take(self, n, timeout=10):
        return [self.next(timeout) for _ in range(n)]

    def quiet(self, wait=1.0):
        """Events that arrive within wait seconds (expected: none)."""
        out = []
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                out.append(self.queue.get(timeout=max(0.01, deadline - time.time())))
            except queue.Empty:
                break
        return out

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Tenant:
    """A tenant of the CRM made and changed through crmctl, as a CRM admin does. ctl runs
    crmctl with the caller's environment (PG_DSN, keys, topics); users holds ids by login."""

    def __init__(self, tid, ctl):
        self.id = tid
        self._ctl = ctl
        self.users = {}

    def ctl(self, *args):
        """crmctl's standard output."""
        return self._ctl(*map(str, args))

    def install(self, name=None):
        return self.ctl("tenant", "install", self.id, "--name", name or f"Test {self.id}")

    def user(self, login, name=None, ext=None):
        uid = int(self.ctl("user", "add", self.id, "--login", login, "--name",
                           name or login.title()).split()[-1])
        self.users[login] = uid
        if ext:
            self.ctl("extension", "set", self.id, ext, uid)
        return uid

    def employees(self, *logins):
        self.ctl("employees", "set", self.id, *[self.users[x] for x in logins])

    def counterparty(self, name, work=None, mobile=None, responsible=None):
        args = ["counterparty", "add", self.id, "--name", name]
        if work:
            args += ["--work-phone", work]
        if mobile:
            args += ["--mobile-phone", mobile]
        if responsible:
            args += ["--responsible", self.users[responsible]]
        return int(self.ctl(*args).split()[-1])

    def deal(self, counterparty, title, stage="open", last_activity=None):
        args = ["deal", "add", self.id, "--counterparty", counterparty, "--title", title,
                "--stage", stage]
        if last_activity:
            args += ["--last-activity", last_activity]
        return int(self.ctl(*args).split()[-1])

    def set(self, **settings):
        self.ctl("tenant", "set", self.id,
                 *[f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                   for k, v in settings.items()])

    def list(self, what):
        return json.loads(self.ctl(what, "list", self.id, "--json"))


def crmctl_runner(env, timeout=60):
    """A ctl function for Tenant: runs crmctl with env, asserting success."""
    def run(*args):
        proc = subprocess.run([str(CRMCTL), *args], env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, \
            f"crmctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout
    return run
