"""Bad input at the edges (issue 8), against the sanitizer build in CI: a fuzzing pass over the
webhook endpoint with mutated bodies and headers, oversized, slow and half-closed connections,
SSE with forged tokens. Nothing crashes or leaks (the services must exit 0 on SIGTERM, which an
ASan/LSan report would prevent), and every refusal is explained and kept."""
import base64
import json
import random
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests

from notifier_support import popup_token
from pipeline_support import (TEST_KEYS, Service, consume, free_port, mint_token,
                              publish_token_version)
from harness import binary, needs_binaries

pytestmark = needs_binaries(binary("ingest"), binary("notifier"))

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "uis"
JWT_KEY = b"edge-tests-popup-key-0123456789ab"


@pytest.fixture(scope="module")
def edge(stack):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": stack["brokers"]})
    names = {k: f"edge-{k.lower()}.{uuid.uuid4().hex[:8]}" for k in
             ("TOPIC_CALL_EVENTS", "TOPIC_REJECTED", "TOPIC_TENANT_TOKENS", "TOPIC_POPUPS")}
    for f in admin.create_topics([NewTopic(n, 3 if "TOKENS" not in k else 1, 1)
                                  for k, n in names.items()]).values():
        f.result(30)
    tenant = f"e{uuid.uuid4().hex[:8]}"
    publish_token_version(stack["brokers"], names["TOPIC_TENANT_TOKENS"], tenant, 1)
    port, sse_port = free_port(), free_port()
    env = dict(names, KAFKA_BROKERS=stack["brokers"], WEBHOOK_KEYS=TEST_KEYS,
               HTTP_PORT=str(port), CONN_TIMEOUT_S="2", MAX_BODY_BYTES="8192", CONN_LIMIT="200")
    ingest = Service("ingest", env).start()
    notifier = Service("notifier", dict(names, KAFKA_BROKERS=stack["brokers"],
                                        HTTP_PORT=str(sse_port), TOPIC_POPUP_USERS="",
                                        POPUP_JWT_SECRET=base64.b64encode(JWT_KEY).decode())).start()
    yield {"url": f"http://127.0.0.1:{port}/v1/uis/{tenant}/{mint_token(tenant, 1)}",
           "port": port, "sse": sse_port, "tenant": tenant, "topics": names,
           "brokers": stack["brokers"], "ingest": ingest, "notifier": notifier}
    codes = {"ingest": ingest.stop(), "notifier": notifier.stop()}
    admin.delete_topics(list(names.values()))
    assert codes == {"ingest": 0, "notifier": 0}, (codes, ingest.logs(), notifier.logs())


def mutate(rnd, body):
    b = bytearray(body)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(9)
        pos = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[pos:pos] = bytes([rnd.randrange(256)])
        elif op == 2:
            del b[pos:pos + rnd.randint(1, 20)]
        elif op == 3:
            b[pos:pos] = rnd.choice([b'"', b",", b":", b"{", b"}", b"[", b"]", b"\\", b"\x00",
                                     b"\xff\xfe", "ё".encode(), b"\r\n", b"null", b"9" * 40])
        elif op == 4:
            b = b[:pos]
        elif op == 5:
            b[pos:pos] = b'"call_id":"123",'
        elif op == 6:
            b[pos:pos] = b'"x":{"y":[' * rnd.randint(1, 40)
        elif op == 7:
            b[pos:pos] = b"https://a.b/c, " * rnd.randint(1, 30)
        else:
            b = b + b
    return bytes(b)


def test_fuzzing_pass_over_the_webhook(edge):
    rnd = random.Random(2026)
    seeds = [p.read_bytes() for p in sorted(FIXTURES.glob("*.body"))]
    codes = {}
    s = requests.Session()
    for i in range(400):
        body = mutate(rnd, rnd.choice(seeds))
        headers = {"Content-Type": rnd.choice(["application/json", "text/plain", "", "x" * 300]),
                   "traceparent": rnd.choice(["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                              "garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01",
                                              "ё" * 10])}
        headers = {k: v for k, v in headers.items() if v}
        try:
            r = s.post(edge["url"], data=body, headers={k: v.encode() for k, v in headers.items()},
                       timeout=10)
        except requests.RequestException as e:
            pytest.fail(f"request {i} failed: {e}")
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
        assert r.status_code in (200, 400, 413), (r.status_code, r.text, body)
        if r.status_code != 200:
            err = r.json()
            assert err["error"] and err["reason"] and "field" in err
    print("fuzzing pass:", codes)
    assert codes.get(400, 0) > 50 and codes.get(200, 0) > 0
    assert edge["ingest"].ops("/healthz").status_code == 200
    refused = codes.get(400, 0) + codes.get(413, 0)
    kept = consume(edge["brokers"], edge["topics"]["TOPIC_REJECTED"], refused, timeout=30)
    assert len(kept) == refused  # every refusal is on the rejected topic
    events = consume(edge["brokers"], edge["topics"]["TOPIC_CALL_EVENTS"], codes.get(200, 0),
                     timeout=30)
    assert len(events) == codes.get(200, 0)


def test_oversized_body_is_refused_and_kept_cut(edge):
    r = requests.post(edge["url"], data=b'{"call_id":"1",' + b" " * (1 << 20) + b"}", timeout=30)
    assert r.status_code == 413 and "limit" in r.json()["reason"]


def test_slow_and_half_closed_connections_do_not_block_others(edge):
    slow = []
    for _ in range(30):  # slowloris: headers a byte at a time, never finished
        c = socket.create_connection(("127.0.0.1", edge["port"]))
        c.sendall(b"POST /v1/uis/x/y HTTP/1.1\r\nHost: a\r\n")
        slow.append(c)
    half = socket.create_connection(("127.0.0.1", edge["port"]))
    body = (FIXTURES / "01-ringing-guide-template.body").read_bytes()
    path = edge["url"].split(str(edge["port"]), 1)[1]
    half.sendall(f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                 + body)
    # Half-closed after the request: libmicrohttpd takes the EOF as the end of the connection
    # and may close it before answering (the sender then retries). It must neither hang nor
    # hold anything back.
    half.shutdown(socket.SHUT_WR)
    t0 = time.time()
    r = requests.post(edge["url"], data=body, timeout=5)
    assert r.status_code == 200 and time.time() - t0 < 2
    half.settimeout(10)
    answer = half.recv(4096)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 200"), answer
    half.close()
    time.sleep(3.5)  # CONN_TIMEOUT_S=2: the slow ones are cut off
    closed = 0
    for c in slow:
        c.settimeout(1)
        try:
            c.sendall(b"X")
            closed += c.recv(100) == b""
        except OSError:
            closed += 1
        c.close()
    assert closed == len(slow)


def test_forged_sse_tokens_are_refused(edge):
    url = f"http://127.0.0.1:{edge['sse']}/v1/popups/stream"
    good = popup_token(JWT_KEY, edge["tenant"], 5)
    head, body, sig = good.split(".")
    other = json.loads(base64.urlsafe_b64decode(body + "=="))
    other["tenant"] = "someone-else"
    tampered = base64.urlsafe_b64encode(json.dumps(other).encode()).decode().rstrip("=")
    forged = {
        "alg none": popup_token(JWT_KEY, edge["tenant"], 5, alg="none").rsplit(".", 1)[0] + ".",
        "wrong key": popup_token(b"x" * 32, edge["tenant"], 5),
        "expired": popup_token(JWT_KEY, edge["tenant"], 5, exp=int(time.time()) - 10),
        "tampered payload": f"{head}.{tampered}.{sig}",
        "garbage": "a.b.c",
        "empty": "",
    }
    for name, tok in forged.items():
        r = requests.get(url, params={"token": tok}, timeout=5, stream=True)
        assert r.status_code == 401, name
        assert r.json()["error"], name
        r.close()
        r = requests.get(url, headers={"Authorization": f"Bearer {tok}"}, timeout=5, stream=True)
        assert r.status_code == 401, name
        r.close()
    r = requests.get(url, params={"token": good}, timeout=5, stream=True)
    assert r.status_code == 200
    r.close()
