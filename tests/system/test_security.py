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
    out = subprocess.run([CRMCTL, "popup-token", t.id, str(rita)], capture_output=True, text=True,
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
