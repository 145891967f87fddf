"""Issue 19 end to end: popup tokens can be revoked (crmctl user revoke-tokens, user disable)
and a revoked user's open streams end within seconds, their reconnects refused."""
import os
import subprocess
import time

import pytest

from pipeline_stack import CRMCTL, SSE, Pipeline, wait_until


@pytest.fixture(scope="module")
def pipe(stack):
    with Pipeline.on_own_topics(stack) as p:
        yield p
    assert all(c == 0 for c in p.exit_codes.values()), \
        (p.exit_codes, {n: s.logs() for n, s in p.services.items()})


def ended(stream, timeout):
    """Seconds until the server ended the stream (the reader thread returned)."""
    t0 = time.monotonic()
    stream.thread.join(timeout)
    assert not stream.thread.is_alive(), "the stream stayed open"
    return time.monotonic() - t0


def test_revoked_and_disabled_users_streams_close_and_reconnects_are_refused(pipe):
    t = pipe.tenant()
    rita = t.user("rita")
    t.user("sam")
    old = t.token("rita")
    s_old = SSE(pipe.notifier_url, old)
    pipe.streams.append(s_old)
    assert s_old.status == 200
    sam = t.stream("sam")

    time.sleep(0.5)  # not a wait for state: gives a wrongly ended stream the time to show it
    assert s_old.thread.is_alive() and sam.thread.is_alive()
    t.ctl("user", "revoke-tokens", t.id, str(rita))
    took = ended(s_old, 10)
    print(f"revoked stream ended {took:.2f} s after crmctl returned")
    assert took < 5
    again = SSE(pipe.notifier_url, old)
    assert again.status == 401
    assert again.resp.json()["reason"] == "token revoked"
    assert sam.thread.is_alive(), "another user's stream must stay open"

    # A token minted after the revocation works.
    tok2 = t.token("rita")
    fresh = SSE(pipe.notifier_url, tok2)
    pipe.streams.append(fresh)
    assert fresh.status == 200
    t.ctl("user", "disable", t.id, str(rita))
    took = ended(fresh, 10)
    print(f"disabled user's stream ended {took:.2f} s after crmctl returned")
    assert took < 5
    out = subprocess.run([CRMCTL, "popup-token", "--show-secret", t.id, str(rita)],
                         capture_output=True, text=True,
                         env=dict(os.environ, **pipe.env), timeout=60)
    assert out.returncode == 1 and "disabled" in out.stderr, out
    assert SSE(pipe.notifier_url, tok2).status == 401

    # Enabled again: new tokens work, the ones from before the disable stay void.
    t.ctl("user", "enable", t.id, str(rita))
    wait_until(lambda: SSE(pipe.notifier_url, t.token("rita")).status == 200,
               what="a new token of the re-enabled user")
    assert sam.thread.is_alive()


def test_popup_users_records_fit_proto(pipe):
    """Runs after the test above: what crmctl wrote fits proto/ (value, key, headers)."""
    import sys
    from pathlib import Path

    from confluent_kafka import Consumer, TopicPartition

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proto"))
    import schemas

    topic = pipe.topics["TOPIC_POPUP_USERS"]
    c = Consumer({"bootstrap.servers": pipe.stack["brokers"], "group.id": "schema-check",
                  "enable.auto.commit": False})
    _, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.assign([TopicPartition(topic, 0, 0)])
    seen = []
    while len(seen) < hi:
        m = c.poll(5)
        assert m is not None, f"{topic}: stopped before the end"
        if m.error():
            continue
        schemas.validate("crm.popup-users.v1", m.value())
        schemas.validate_headers("crm.popup-users.v1", m.headers())
        schemas.validate_key("crm.popup-users.v1", m.key())
        seen.append(m.value())
    c.close()
    assert len(seen) == 3  # revoke-tokens, disable, enable


def test_crmctl_prints_secrets_only_to_a_terminal(pipe):
    """A token or webhook address piped into a file or log needs --show-secret; on a terminal it
    is printed as before."""
    import pty

    t = pipe.tenant()
    uid = t.user("tess")
    env = dict(os.environ, **pipe.env)
    for args in (["popup-token", t.id, str(uid)], ["tenant", "token", t.id]):
        out = subprocess.run([CRMCTL, *args], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 2 and out.stdout == "", out
        assert "--show-secret" in out.stderr
    # refused before anything changed: the tenant's address still works
    assert __import__("requests").post(t.url, data="{}", timeout=5).status_code == 400

    master, slave = pty.openpty()
    try:
        out = subprocess.run([CRMCTL, "popup-token", t.id, str(uid)], stdout=slave,
                             stderr=subprocess.PIPE, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        printed = os.read(master, 4096).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert printed.count(".") == 2, printed
    shown = subprocess.run([CRMCTL, "popup-token", t.id, str(uid), "--show-secret"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0 and shown.stdout.count(".") == 2


def test_no_builtin_database_address():
    """router, crm-writer and crmctl hold no default DSN (it would carry a password): without
    PG_DSN they stop at once and name it."""
    from pipeline_support import BUILD_DIR

    env = {k: v for k, v in os.environ.items() if k != "PG_DSN"}
    for binary, args in ((BUILD_DIR / "router" / "router", []),
                         (BUILD_DIR / "crm-writer" / "crm-writer", []),
                         (BUILD_DIR / "crm-writer" / "crmctl", ["tenant", "show", "acme"])):
        out = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env,
                             timeout=30)
        assert out.returncode != 0 and "PG_DSN" in out.stderr, (binary, out)
    helps = subprocess.run([str(BUILD_DIR / "crm-writer" / "crmctl"), "--help"],
                           capture_output=True, text=True, timeout=30).stdout
    assert "password=" not in helps


def test_ingest_refuses_a_body_limit_the_rejected_topic_cannot_hold():
    from pipeline_support import BUILD_DIR, TEST_KEYS

    out = subprocess.run([str(BUILD_DIR / "ingest" / "ingest")], capture_output=True, text=True,
                         env=dict(os.environ, WEBHOOK_KEYS=TEST_KEYS, MAX_BODY_BYTES="1048576"),
                         timeout=30)
    assert out.returncode == 2 and "MAX_BODY_BYTES" in out.stderr, out


def test_rejected_topic_keeps_only_allowed_headers(pipe):
    """A proxy's X-Forwarded-Uri carries the webhook path and its token: the refused body's
    record keeps an allow-list of headers, never that one."""
    import json

    import requests
    from confluent_kafka import Consumer, TopicPartition

    t = pipe.tenant()
    path = t.url.split("://", 1)[1].split("/", 1)[1]
    marker = f"sec-{t.id}"
    r = requests.post(t.url, data='{"call_id": "x"}', timeout=10,
                      headers={"X-Forwarded-Uri": "/" + path, "X-Original-URL": "/" + path,
                               "User-Agent": marker, "Authorization": "Bearer s3cret"})
    assert r.status_code == 400
    topic = pipe.topics["TOPIC_REJECTED"]
    c = Consumer({"bootstrap.servers": pipe.stack["brokers"], "group.id": f"g-{marker}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
    found = None
    deadline = time.time() + 30
    while found is None and time.time() < deadline:
        m = c.poll(1)
        if m is None or m.error():
            continue
        v = json.loads(m.value())
        if v.get("tenant") == t.id and marker in v["headers"].values():
            found = v
    c.close()
    assert found is not None, "no rejected record"
    names = {k.lower() for k in found["headers"]}
    assert "user-agent" in names
    assert not names & {"x-forwarded-uri", "x-original-url", "authorization"}, names
    token = path.rsplit("/", 1)[-1]
    assert token not in json.dumps(found)
