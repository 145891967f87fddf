"""notifier on the real stack: crm.popups.v1 messages produced to a test topic reach exactly
their user's streams, replay after Last-Event-ID (on the same replica, on another replica and
after a restart), tokens are checked, limits and SIGTERM behave."""
import json
import time
import uuid

import pytest

from notifier_support import (SSE, Notifier, http_get, make_producer, make_topic, new_secret,
                              popup, popup_token, produce)
from harness import binary, needs_binaries, wait_until

pytestmark = needs_binaries(binary("notifier"))

PARTITIONS = 3


@pytest.fixture(scope="module")
def topic(stack):
    name, admin = make_topic(stack["brokers"], PARTITIONS)
    yield name
    admin.delete_topics([name])


@pytest.fixture(scope="module")
def producer(stack):
    return make_producer(stack["brokers"])


@pytest.fixture(scope="module")
def secret():
    return new_secret()


@pytest.fixture
def notifier_factory(stack, topic, secret, tmp_path):
    started = []

    def make(**env):
        n = Notifier(stack["brokers"], topic, secret[1], tmp_path / f"notifier-{len(started)}.log",
                     **env)
        started.append(n)
        return n.start()

    yield make
    for n in started:
        n.stop()


def wait_received(n, total):
    """Wait until notifier n has consumed total popup messages (whatever their verdict)."""
    wait_until(lambda: n.received() >= total, 20, 0.05, what=f"{total} popups received")


def stream(n, key, tenant, user, last=None, how="query"):
    tok = popup_token(key, tenant, user)
    headers = {}
    path = "/v1/popups/stream"
    if how == "query":
        path += f"?token={tok}"
    elif how == "bearer":
        headers["Authorization"] = f"Bearer {tok}"
    else:
        headers["Cookie"] = f"theme=dark; popup_token={tok}"
    if last:
        headers["Last-Event-ID"] = last
    s = SSE(n.port, path, headers)
    assert s.status == 200, s.body
    return s


def snapshot(s):
    ev = s.next()
    assert ev["event"] == "snapshot"
    return ev


def test_each_user_sees_exactly_their_popups(notifier_factory, producer, topic, secret):
    key = secret[0]
    n = notifier_factory()
    t1, t2 = f"acme{uuid.uuid4().hex[:6]}", f"beta{uuid.uuid4().hex[:6]}"
    # same user id in two tenants, and another user of the first tenant
    a5 = stream(n, key, t1, 5, how="query")
    b5 = stream(n, key, t2, 5, how="bearer")
    a6 = stream(n, key, t1, 6, how="cookie")
    for s in (a5, b5, a6):
        assert snapshot(s)["data"] == {"popups": []}

    msgs = [
        popup(t1, 5, "c1", "show", "ringing", counterparty={"id": 42, "name": "ООО Ромашка"}),
        popup(t2, 5, "c2", "show", "ringing"),
        popup(t1, 5, "c1", "update", "in_call", answered_at="2024-05-01T10:00:07Z"),
        popup(t2, 5, "c2", "close", "closed", ended_at="2024-05-01T10:00:30Z"),
        popup(t1, 5, "c1", "close", "closed", ended_at="2024-05-01T10:01:00Z"),
        popup(t1, 5, "c1", "close", "closed", ended_at="2024-05-01T10:01:00Z"),  # router replay
    ]
    ids = produce(producer, topic, msgs)

    got = a5.take(3)
    assert [(e["data"]["action"], e["data"]["state"]) for e in got] == [
        ("show", "ringing"), ("update", "in_call"), ("close", "closed")]
    assert all(e["data"]["tenant"] == t1 and e["data"]["user_id"] == 5 for e in got)
    assert [e["id"] for e in got] == [ids[0], ids[2], ids[4]]
    assert got[0]["data"]["counterparty"]["name"] == "ООО Ромашка"

    got = b5.take(2)
    assert [(e["data"]["tenant"], e["data"]["state"]) for e in got] == [
        (t2, "ringing"), (t2, "closed")]
    assert [e["id"] for e in got] == [ids[1], ids[3]]

    # nothing more: not the duplicate close, nothing for user 6
    assert a5.quiet(1.5) == [] and b5.quiet(0.1) == [] and a6.quiet(0.1) == []
    m = n.metrics()
    assert m['notifier_popups_received_total{result="duplicate"}'] == 1
    assert m["notifier_connections"] == 3
    deadline = time.time() + 3
    while a5.comments == 0 and time.time() < deadline:
        time.sleep(0.1)
    assert a5.comments >= 1  # heartbeats of an idle stream (HEARTBEAT_S=1)
    for s in (a5, b5, a6):
        s.close()


def test_reconnect_replays_missed_events_once(notifier_factory, producer, topic, secret):
    key = secret[0]
    n = notifier_factory()
    t = f"acme{uuid.uuid4().hex[:6]}"
    s = stream(n, key, t, 7)
    snapshot(s)
    first = produce(producer, topic, [popup(t, 7, "r1", "show", "ringing")])
    assert s.next()["id"] == first[0]
    s.close()

    before = n.received()
    missed = produce(producer, topic, [
        popup(t, 7, "r1", "update", "in_call"),
        popup(t, 7, "r2", "show", "ringing"),
        popup(t, 7, "r1", "close", "closed"),
    ])
    wait_received(n, before + len(missed))
    s = stream(n, key, t, 7, last=first[0])
    got = s.take(3)
    assert [e["event"] for e in got] == ["popup"] * 3
    assert sorted(e["id"] for e in got) == sorted(missed)
    assert {(e["data"]["call_id"], e["data"]["state"]) for e in got} == {
        ("r1", "in_call"), ("r2", "ringing"), ("r1", "closed")}
    assert s.quiet(1.0) == []  # once: nothing replayed twice, nothing else
    assert n.metrics()['notifier_replay_total{result="hit"}'] >= 1

    # live after the replay
    live = produce(producer, topic, [popup(t, 7, "r2", "update", "in_call")])
    assert s.next()["id"] == live[0]
    s.close()

    # the query parameter works as the header does (clients that cannot set headers)
    # "After" is the buffer's order (Kafka timestamp, then partition and offset: messages of
    # two partitions stamped in the same millisecond need not be in production order), plus
    # whatever this replica received live after the last id (replay.h): an event the replay
    # above gave before seen[1] may come again, but nothing after it may be missing.
    seen = [e["id"] for e in got]
    s = SSE(n.port, f"/v1/popups/stream?token={popup_token(key, t, 7)}&lastEventId={seen[1]}")
    again = [e["id"] for e in s.take(2)]
    if again[-1] != live[0]:
        again.append(s.next()["id"])
    assert again[-1] == live[0] and seen[2] in again, (seen, again)
    assert set(again) <= {seen[0], seen[2], live[0]} and len(set(again)) == len(again), again
    assert s.quiet(0.8) == []
    s.close()


def test_unknown_last_id_gets_open_popups_never_a_gap(notifier_factory, producer, topic, secret):
    key = secret[0]
    n = notifier_factory(REPLAY_PER_USER=2)
    t = f"acme{uuid.uuid4().hex[:6]}"
    before = n.received()
    ids = produce(producer, topic, [
        popup(t, 8, "o1", "show", "ringing"),
        popup(t, 8, "o2", "show", "ringing"),
        popup(t, 8, "o2", "update", "in_call"),
        popup(t, 8, "o3", "show", "ringing"),
        popup(t, 8, "o3", "close", "closed"),
    ])
    wait_received(n, before + len(ids))
    s = stream(n, key, t, 8, last=ids[0])  # evicted from a buffer of 2
    ev = snapshot(s)
    assert [(p["call_id"], p["state"]) for p in ev["data"]["popups"]] == [
        ("o1", "ringing"), ("o2", "in_call")]
    assert ev["id"] == ids[4]
    assert n.metrics()['notifier_replay_total{result="miss"}'] == 1
    s.close()


def test_second_replica_gives_same_ids_and_replays(notifier_factory, producer, topic, secret):
    key = secret[0]
    r1 = notifier_factory()
    r2 = notifier_factory()
    t = f"acme{uuid.uuid4().hex[:6]}"
    s1, s2 = stream(r1, key, t, 9), stream(r2, key, t, 9)
    snapshot(s1)
    snapshot(s2)
    # One call's messages (one partition): their order is defined, so both replicas must give
    # them in it. (Two calls' messages may sit on two partitions, read in either order.)
    ids = produce(producer, topic, [popup(t, 9, "x1", "show", "ringing"),
                                    popup(t, 9, "x1", "update", "in_call")])
    e1, e2 = s1.take(2), s2.take(2)
    assert [e["id"] for e in e1] == [e["id"] for e in e2] == ids
    assert [e["data"] for e in e1] == [e["data"] for e in e2]
    s1.close()

    # the client of replica 1 reconnects to replica 2 with its last id
    before = r2.received()
    more = produce(producer, topic, [popup(t, 9, "x1", "close", "closed")])
    wait_received(r2, before + len(more))
    s = stream(r2, key, t, 9, last=ids[1])
    assert [e["id"] for e in s.take(1)] == more
    assert s.quiet(0.8) == []
    s.close()
    s2.close()


def test_restarted_replica_replays_from_read_back(notifier_factory, producer, topic, secret):
    key = secret[0]
    t = f"acme{uuid.uuid4().hex[:6]}"
    ids = produce(producer, topic, [popup(t, 10, "y1", "show", "ringing"),
                                    popup(t, 10, "y1", "update", "in_call"),
                                    popup(t, 10, "y1", "close", "closed")])
    n = notifier_factory()  # started after the messages: it reads them back
    s = stream(n, key, t, 10, last=ids[0])
    assert [e["id"] for e in s.take(2)] == ids[1:]
    s.close()


def test_tokens_are_checked(notifier_factory, secret):
    key = secret[0]
    n = notifier_factory()
    path = "/v1/popups/stream"
    cases = {
        "missing": (None, "token missing"),
        "expired": (popup_token(key, "acme", 5, exp=int(time.time()) - 5), "token expired"),
        "bad signature": (popup_token(b"x" * 32, "acme", 5), "token signature does not match"),
        "alg none": (popup_token(key, "acme", 5, alg="none"), "token alg is not HS256"),
        "garbage": ("abc.def", "token is not three dot-separated parts"),
    }
    for name, (tok, reason) in cases.items():
        status, headers, body = http_get(n.port, path + (f"?token={tok}" if tok else ""))
        assert status == 401, name
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"error": "unauthorized", "reason": reason}, name
    assert n.metrics()['notifier_connects_total{result="unauthorized"}'] == len(cases)


def test_limits_cors_and_page(notifier_factory, secret):
    key = secret[0]
    origin = "https://crm.example.test"
    n = notifier_factory(MAX_CONNECTIONS_PER_USER=2, MAX_CONNECTIONS=3, CORS_ORIGIN=origin)
    a = stream(n, key, "acme", 1)
    b = stream(n, key, "acme", 1)
    tok = popup_token(key, "acme", 1)
    status, headers, body = http_get(n.port, f"/v1/popups/stream?token={tok}")
    assert status == 429 and headers["retry-after"] == "5"
    c = stream(n, key, "acme", 2)
    status, _, _ = http_get(n.port, f"/v1/popups/stream?token={popup_token(key, 'acme', 3)}")
    assert status == 503
    a.close()

    # a stream waiting for events notices its vanished client at the next heartbeat (1 s)
    deadline = time.time() + 5
    while True:
        s = SSE(n.port, f"/v1/popups/stream?token={popup_token(key, 'acme', 4)}",
                {"Origin": origin})
        if s.status != 503 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert s.status == 200
    assert s.headers["content-type"] == "text/event-stream"
    assert s.headers["access-control-allow-origin"] == origin
    assert s.headers["access-control-allow-credentials"] == "true"
    s.close()
    for x in (b, c):
        x.close()
    # heartbeats notice the closed sockets
    wait_until(lambda: n.metrics()["notifier_connections"] == 0, 10, 0.1,
               what="the closed streams to be noticed")
    # The slots are free: the stream is served, without CORS headers for another origin
    # (read as a stream: a plain GET would wait for its end).
    s = SSE(n.port, f"/v1/popups/stream?token={tok}", {"Origin": "https://evil.example"})
    headers = s.headers
    s.close()
    assert "access-control-allow-origin" not in headers

    for path in ("/", "/popup"):
        status, headers, body = http_get(n.port, path)
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'self' " + origin in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert b"/popup.js" in body
    assert http_get(n.port, "/popup.js")[0] == 200
    assert http_get(n.port, "/nope")[0] == 404


def test_sigterm_ends_streams_cleanly(notifier_factory, secret):
    key = secret[0]
    n = notifier_factory()
    s = stream(n, key, "acme", 11)
    snapshot(s)
    assert n.stop() == 0
    assert s.closed.wait(5)
    assert s.ended, "the chunked stream was cut instead of ended"


def _raw_events(sock, want, want_comments=0, timeout=10):
    """Read an HTTP/1.0 stream (no chunking: the body is the events) until want events and
    want_comments comment blocks came; returns (events as dicts of id/event/data, comments)."""
    sock.settimeout(timeout)
    buf, events, comments = b"", [], 0
    while len(events) < want or comments < want_comments:
        data = sock.recv(65536)
        assert data, "the stream ended early"
        buf += data
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            if block.startswith(b"HTTP/1."):
                block = block.split(b"\r\n\r\n", 1)[1]  # the head came with the first events
            fields = dict(line.split(": ", 1) for line in block.decode().split("\n")
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                events.append(fields)
            elif block.startswith(b":"):
                comments += 1
    return events, comments


def test_idle_streams_get_events_written_directly(notifier_factory, producer, topic, secret):
    """An idle stream is left suspended in libmicrohttpd and its events are written straight to
    its socket (docs/decisions.md, notifier): in chunk frames for HTTP/1.1, raw for HTTP/1.0;
    an event too large for that goes through libmicrohttpd; the order holds across both."""
    import socket
    key = secret[0]
    n = notifier_factory()
    t = f"direct{uuid.uuid4().hex[:6]}"
    s11 = stream(n, key, t, 5)
    raw = socket.create_connection(("127.0.0.1", n.port), timeout=10)
    raw.sendall(f"GET /v1/popups/stream?token={popup_token(key, t, 5)} HTTP/1.0\r\n\r\n"
                .encode())
    snap, _ = _raw_events(raw, 1)
    assert snap[0]["event"] == "snapshot"
    assert snapshot(s11)["data"] == {"popups": []}
    before = n.metrics()
    big = "x" * 6000  # over the 4 KiB written directly: libmicrohttpd sends it
    msgs = [popup(t, 5, "c1", "show", "ringing"),
            popup(t, 5, "c1", "update", "in_call", note=big),
            popup(t, 5, "c1", "close", "closed")]
    ids = produce(producer, topic, msgs)
    got = s11.take(3)
    assert [e["id"] for e in got] == ids
    assert got[1]["data"]["note"] == big
    got10, _ = _raw_events(raw, 3)
    assert [e["id"] for e in got10] == ids
    assert json.loads(got10[1]["data"])["note"] == big
    # heartbeats go the same way (HEARTBEAT_S=1), and the streams stay open
    assert _raw_events(raw, 0, 1)[1] == 1
    deadline = time.time() + 5
    while s11.comments == 0 and time.time() < deadline:
        time.sleep(0.1)
    assert s11.comments >= 1
    m = n.metrics()
    assert m['notifier_popups_delivered_total{kind="live"}'] - before.get(
        'notifier_popups_delivered_total{kind="live"}', 0) == 6
    assert m["notifier_connections"] == 2
    raw.close()
    s11.close()
    wait_until(lambda: n.metrics()["notifier_connections"] == 0, 10, 0.1,
               what="the closed streams to be noticed")
