"""ingest against the real broker: webhooks in, topics out (issue 4)."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from pipeline_support import (BUILD_DIR, TEST_KEYS, Service, consume, free_port, mint_token,
                              publish_token_version, stack_script)
from harness import binary, needs_binaries

pytestmark = needs_binaries(binary("ingest"))

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "uis"

EXPECTED = {
    "01-ringing-guide-template.body": ("RINGING", None, []),
    "02-answered-unquoted.body": ("ANSWERED", "112", []),
    "03-hangup-quoted.body": ("HANGUP", "112",
                              ["https://app.uiscom.ru/system/media/talk/2981734650/0f4e2a/"]),
    "04-missed.body": ("MISSED", None, []),
    "06-hangup-two-links-crlf.body": ("HANGUP", "112",
                                      ["https://app.uiscom.ru/system/media/talk/2981734650/0f4e2a/",
                                       "https://app.uiscom.ru/system/media/talk/2981734650/1a7c3d/"]),
    "07-ringing-formatted-numbers.body": ("RINGING", None, []),
}


@pytest.fixture
def ingest_env(stack, new_topic):
    topics = {
        "TOPIC_CALL_EVENTS": new_topic("ingest-events"),
        "TOPIC_REJECTED": new_topic("ingest-rejected"),
        "TOPIC_TENANT_TOKENS": new_topic("ingest-tokens", partitions=1,
                                         config={"cleanup.policy": "compact"}),
    }
    tenant = f"t{uuid.uuid4().hex[:8]}"
    publish_token_version(stack["brokers"], topics["TOPIC_TENANT_TOKENS"], tenant, 1)
    port = free_port()
    env = dict(topics, KAFKA_BROKERS=stack["brokers"], WEBHOOK_KEYS=TEST_KEYS,
               HTTP_PORT=str(port), DELIVERY_DEADLINE_MS="3000", MAX_BODY_BYTES="4096")
    return {"env": env, "topics": topics, "tenant": tenant, "port": port,
            "url": f"http://127.0.0.1:{port}/v1/uis/{tenant}/{mint_token(tenant, 1)}",
            "brokers": stack["brokers"]}


def post(url, body, **kw):
    return requests.post(url, data=body, timeout=15, **kw)


def test_fixtures_reach_the_topic_with_key_and_headers(ingest_env):
    e = ingest_env
    with Service("ingest", e["env"]):
        ids = {}
        for name in EXPECTED:
            r = post(e["url"], (FIXTURES / name).read_bytes(),
                     headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
            assert r.status_code == 200, r.text
            ids[r.json()["event_id"]] = name
    msgs = consume(e["brokers"], e["topics"]["TOPIC_CALL_EVENTS"], len(EXPECTED))
    assert len(msgs) == len(EXPECTED)
    for m in msgs:
        v = m["value"]
        state, ext, urls = EXPECTED[ids[v["event_id"]]]
        assert v["call_state"] == state
        assert v["user_extension"] == ext
        assert v["call_record_urls"] == urls
        assert v["from_number"] == "+79031112233"
        assert v["diversion"] == "+74993482958"
        assert v["tenant"] == e["tenant"]
        assert m["key"] == f"{e['tenant']}:+79031112233"
        h = m["headers"]
        assert h["ce_specversion"] == "1.0"
        assert h["ce_id"] == v["event_id"]
        assert h["ce_type"] == f"ru.uis.call.{state.lower()}"
        assert h["ce_source"] == f"/v1/uis/{e['tenant']}"
        assert h["content-type"] == "application/json"
        # The trace continues: same trace id, a new span.
        assert h["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        assert "00f067aa0ba902b7" not in h["traceparent"]
        try:
            from proto_schemas import validate
        except ImportError:
            validate = None
        if validate:
            validate("uis.call-events.v1", v)
    # One caller: one partition, in order.
    assert len({m["partition"] for m in msgs}) == 1


def test_refused_body_is_kept_then_400(ingest_env):
    e = ingest_env
    body = (FIXTURES / "05-refused-no-call-id.body").read_bytes()
    with Service("ingest", e["env"]):
        r = post(e["url"], body, headers={"Authorization": "Bearer secret-x"})
    assert r.status_code == 400
    err = r.json()
    assert err["field"] == "call_id" and err["reason"]
    msgs = consume(e["brokers"], e["topics"]["TOPIC_REJECTED"], 1)
    assert len(msgs) == 1
    v = msgs[0]["value"]
    assert v["field"] == "call_id" and v["status"] == 400 and v["tenant"] == e["tenant"]
    assert v["body"] == body.decode() and v["body_encoding"] == "utf-8"
    assert "authorization" not in {k.lower() for k in v["headers"]}
    assert msgs[0]["headers"]["ce_type"] == "ru.uis.call.rejected"
    assert consume(e["brokers"], e["topics"]["TOPIC_CALL_EVENTS"], 1, timeout=2) == []


def test_wrong_token_unknown_tenant_and_void_token_look_alike(ingest_env):
    e = ingest_env
    body = (FIXTURES / "01-ringing-guide-template.body").read_bytes()
    base = f"http://127.0.0.1:{e['port']}/v1/uis"
    with Service("ingest", e["env"]) as svc:
        wrong = post(f"{base}/{e['tenant']}/{mint_token(e['tenant'], 1, key=b'x' * 32)}", body)
        unknown = post(f"{base}/nosuchtenant/{mint_token('nosuchtenant', 1)}", body)
        other_path = post(f"http://127.0.0.1:{e['port']}/v1/other", body)
        # Re-issue: version 2 becomes current, version 1 is void.
        publish_token_version(e["brokers"], e["topics"]["TOPIC_TENANT_TOKENS"], e["tenant"], 2)
        deadline = time.time() + 10
        while time.time() < deadline:
            if post(f"{base}/{e['tenant']}/{mint_token(e['tenant'], 2)}", body).status_code == 200:
                break
            time.sleep(0.2)
        old = post(e["url"], body)
        new = post(f"{base}/{e['tenant']}/{mint_token(e['tenant'], 2)}", body)
        metrics = svc.ops("/metrics").text
    for r in (wrong, unknown, other_path, old):
        assert r.status_code == 404
        assert r.content == wrong.content
        assert dict((k.lower(), v) for k, v in r.headers.items() if k.lower() != "date") == \
            dict((k.lower(), v) for k, v in wrong.headers.items() if k.lower() != "date")
    assert new.status_code == 200
    m = re.search(r'^ingest_requests_total\{code="404"\} (\d+)$', metrics, re.M)
    assert m and int(m.group(1)) >= 4


def test_method_size_and_check(ingest_env):
    e = ingest_env
    with Service("ingest", e["env"]) as svc:
        assert requests.get(e["url"], timeout=5).status_code == 405
        big = b'{"call_id":"1","call_state":"RINGING","direction":"in","x":"' + b"a" * 10000 + b'"}'
        r = post(e["url"], big)
        assert r.status_code == 413
        assert "limit" in r.json()["reason"]
        assert svc.ops("/healthz").status_code == 200
        assert "ingest_delivery_seconds_count" in svc.ops("/metrics").text
    msgs = consume(e["brokers"], e["topics"]["TOPIC_REJECTED"], 1)
    assert msgs[0]["value"]["status"] == 413
    assert msgs[0]["value"]["body_truncated"] is True
    assert len(msgs[0]["value"]["body"]) == 4096


def test_ingest_check_cli():
    binary = BUILD_DIR / "ingest" / "ingest"
    ok = subprocess.run([binary, "check", FIXTURES / "02-answered-unquoted.body"],
                        capture_output=True, text=True)
    assert ok.returncode == 0
    ev = json.loads(ok.stdout)
    assert ev["call_state"] == "ANSWERED" and ev["user_extension"] == "112"
    bad = subprocess.run([binary, "check"], input=(FIXTURES / "05-refused-no-call-id.body").read_text(),
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["field"] == "call_id"


def test_help_lists_every_variable_and_bad_value_names_it():
    binary = BUILD_DIR / "ingest" / "ingest"
    h = subprocess.run([binary, "--help"], capture_output=True, text=True)
    assert h.returncode == 0
    for var in ("KAFKA_BROKERS", "HTTP_PORT", "DELIVERY_DEADLINE_MS", "WEBHOOK_KEYS", "OPS_PORT"):
        assert var in h.stdout
    bad = subprocess.run([binary], env=dict(os.environ, WEBHOOK_KEYS=TEST_KEYS, HTTP_PORT="http"),
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "HTTP_PORT" in bad.stderr


def test_sigterm_under_load_every_200_is_on_the_topic(ingest_env):
    e = ingest_env
    svc = Service("ingest", e["env"]).start()
    accepted, stop = [], threading.Event()

    def load(worker):
        s = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            body = json.dumps({"from_number": f"7903{worker:03d}{n:04d}", "diversion": "74993482958",
                               "direction": "in", "call_id": f"{worker}{n:06d}",
                               "call_state": "RINGING"})
            try:
                r = s.post(e["url"], data=body, timeout=10)
            except requests.RequestException:
                continue
            if r.status_code == 200:
                accepted.append(r.json()["event_id"])

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    rc = svc.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join()
    assert rc == 0, svc.logs()
    assert len(accepted) > 10
    msgs = consume(e["brokers"], e["topics"]["TOPIC_CALL_EVENTS"], len(accepted), timeout=30)
    on_topic = {m["value"]["event_id"] for m in msgs}
    missing = set(accepted) - on_topic
    print(f"accepted {len(accepted)}, on topic {len(on_topic)}, missing {len(missing)}")
    assert not missing


@pytest.mark.faults
def test_broker_down_gives_503_then_recovers(ingest_env):
    e = ingest_env
    body = (FIXTURES / "01-ringing-guide-template.body").read_bytes()
    with Service("ingest", e["env"]) as svc:
        assert post(e["url"], body).status_code == 200
        stack_script("stack_kafka_down")
        try:
            t0 = time.time()
            r = post(e["url"], body)
            took = time.time() - t0
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"]
            assert took < 3.0 + 2.0
            deadline = time.time() + 15
            while time.time() < deadline and svc.ops("/readyz").status_code == 200:
                time.sleep(0.5)
            assert svc.ops("/readyz").status_code == 503
        finally:
            stack_script("stack_kafka_up")
        # The broker needs a few seconds to elect itself and load its logs again.
        deadline = time.time() + 120
        code = None
        while time.time() < deadline:
            code = post(e["url"], body).status_code
            if code == 200:
                break
            time.sleep(1)
        assert code == 200


def kafka_pid(stack):
    return int((Path(stack["env"]["STACK_RUN_DIR"]) / "kafka.pid").read_text().split()[0])


@pytest.mark.faults
def test_sigterm_with_the_broker_paused_answers_every_request(stack, ingest_env):
    """SIGTERM while requests wait for a broker that does not answer (SIGSTOP), with DRAIN_MS
    far shorter than the delivery deadline: every waiting request still gets its 503, the late
    delivery reports touch no freed memory (ASan build) and ingest exits 0."""
    e = ingest_env
    env = dict(e["env"], DRAIN_MS="200")
    body = (FIXTURES / "01-ringing-guide-template.body").read_bytes()
    svc = Service("ingest", env).start()
    assert post(e["url"], body).status_code == 200
    answers, pid = [], kafka_pid(stack)

    def one():
        try:
            answers.append(post(e["url"], body).status_code)
        except requests.RequestException as ex:
            answers.append(repr(ex))

    os.kill(pid, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            m = re.search(r"^ingest_in_flight (\S+)", svc.ops("/metrics").text, re.M)
            if m and float(m.group(1)) >= 8:
                break
            time.sleep(0.05)
        rc = svc.stop(signal.SIGTERM)
        for t in threads:
            t.join(20)
    finally:
        os.kill(pid, signal.SIGCONT)
    log = svc.logs()
    assert "AddressSanitizer" not in log, log
    assert rc == 0, log
    assert sorted(answers) == [503] * 8, answers
