"""Issue 19 point 1 on a real secured broker: deploy/local starts Kafka with mutual TLS and an
authorizer (KAFKA_SECURITY=mtls), each service and crmctl logs in as its own user and the whole
pipeline works (webhook in, popup out); a client without credentials is refused, and a user
cannot write another's topic (ingest cannot forge a popup, only crmctl writes tenant tokens).
The stack is its own (STACK_DIR under .local/, free ports) and is taken down at the end."""
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from pipeline_stack import SSE, uis_body, wait_until
from notifier_support import popup
from pipeline_support import BUILD_DIR, REPO, Service, free_port

LOCAL = REPO / "deploy" / "local"
sys.path.insert(0, str(LOCAL))
from kafka_admin import security_conf  # noqa: E402  (the same mapping the harness uses)

CRMCTL = str(BUILD_DIR / "crm-writer" / "crmctl")
JWT_SECRET = "c2VjdXJlZC1zdGFjay1wb3B1cC1rZXktMDEyMzQ1Njc4OQ=="
WEBHOOK_KEYS = "sk1:c2VjdXJlZC1zdGFjay13ZWJob29rLWtleS0wMTIzNDU="


def _bash(env, script):
    out = subprocess.run(["bash", "-c", f"source '{LOCAL / 'env.sh'}' && source "
                          f"'{LOCAL / 'lib.sh'}' && {script}"], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, (script, out.stdout[-3000:], out.stderr[-3000:])
    return out.stdout


@pytest.fixture(scope="module")
def secured():
    env = dict(os.environ, KAFKA_SECURITY="mtls",
               STACK_DIR=str(REPO / ".local" / f"secured-{uuid.uuid4().hex[:6]}"),
               KAFKA_PORT=str(free_port()), KAFKA_CONTROLLER_PORT=str(free_port()),
               PG_PORT=str(free_port()))
    for k in [k for k in env if k.startswith(("KAFKA_SASL_", "KAFKA_SSL_", "TOPIC_"))] + \
            ["KAFKA_BROKERS", "PG_DSN", "KAFKA_SECURITY_PROTOCOL"]:
        env.pop(k, None)
    # The broker's jars of the main stack, if it has them: no second copy from Maven.
    jars = sorted((REPO / ".local" / "kafka").glob("libs-*"))
    if jars:
        (Path(env["STACK_DIR"]) / "kafka").mkdir(parents=True)
        (Path(env["STACK_DIR"]) / "kafka" / jars[-1].name).symlink_to(jars[-1])
    t0 = time.monotonic()
    up = subprocess.run([str(LOCAL / "up")], env=env, capture_output=True, text=True,
                        timeout=600)
    print(f"secured stack up in {time.monotonic() - t0:.1f} s")
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        stack = {k: v for k, v in (line.split("=", 1) for line in _bash(
            env, "env").splitlines() if "=" in line)}

        def user_env(user):
            return dict(line.split("=", 1)
                        for line in _bash(env, f"ksec_user_env {user}").splitlines())

        yield {"env": env, "brokers": stack["KAFKA_BROKERS"], "pg_dsn": stack["PG_DSN"],
               "topics": {k: v for k, v in stack.items() if k.startswith("TOPIC_")},
               "user_env": user_env}
    finally:
        subprocess.run([str(LOCAL / "down")], env=env, capture_output=True, timeout=300)
        shutil.rmtree(env["STACK_DIR"], ignore_errors=True)


def produce(brokers, conf, topic, key, value):
    """Produce one record; the delivery error (None when the broker acknowledged)."""
    from confluent_kafka import Producer

    result = []
    p = Producer({"bootstrap.servers": brokers, "message.timeout.ms": 4000, "log_level": 0,
                  "error_cb": lambda _e: None, **conf})
    p.produce(topic, value, key=key, on_delivery=lambda err, _m: result.append(err))
    p.flush(15)
    return result[0] if result else "no delivery report"


def test_pipeline_on_a_secured_broker_and_forged_popups_refused(secured):
    topics, brokers = secured["topics"], secured["brokers"]
    base = dict(topics, KAFKA_BROKERS=brokers, PG_DSN=secured["pg_dsn"],
                WEBHOOK_KEYS=WEBHOOK_KEYS, WEBHOOK_KEY_ID="sk1", POPUP_JWT_SECRET=JWT_SECRET)
    ingest_port, notifier_port = free_port(), free_port()

    def ctl(*args):
        out = subprocess.run([CRMCTL, "--show-secret", *args], capture_output=True, text=True,
                             timeout=60, env=dict(os.environ, **base,
                                                  **secured["user_env"]("crmctl"),
                                                  PUBLIC_WEBHOOK_BASE=f"http://127.0.0.1:{ingest_port}"))
        assert out.returncode == 0, (args, out.stderr)
        return out.stdout.strip()

    ctl("migrate")
    tenant = f"s{uuid.uuid4().hex[:8]}"
    url = ctl("tenant", "install", tenant, "--name", "Secured").splitlines()[-1]
    anna = ctl("user", "add", tenant, "--login", "anna", "--name", "Anna")
    ctl("extension", "set", tenant, "101", anna)
    ctl("employees", "set", tenant, anna)
    token = ctl("popup-token", tenant, anna)

    services = []
    try:
        for name, extra in (("crm-writer", {}), ("router", {}),
                            ("notifier", {"HTTP_PORT": str(notifier_port)}),
                            ("ingest", {"HTTP_PORT": str(ingest_port)})):
            services.append(Service(name, dict(base, **extra, **secured["user_env"](name)))
                            .start(ready_timeout=60))
        stream = SSE(f"http://127.0.0.1:{notifier_port}", token)
        assert stream.status == 200
        wait_until(lambda: requests.post(url, data="{}", timeout=5).status_code == 400,
                   what="ingest to know the tenant's token version")
        call = "7" + uuid.uuid4().hex[:9].translate(str.maketrans("abcdef", "123456"))
        r = requests.post(url, data=uis_body(call, "RINGING", "79031112233", "101"), timeout=15)
        assert r.status_code == 200, r.text
        wait_until(lambda: stream.states(call) == ["ringing"], what="the popup over mTLS")

        # A client without credentials is refused by the broker, over plaintext or over TLS
        # without a certificate; ingest's own certificate may not write popups; only crmctl
        # writes tenant tokens (a tombstone from ingest would void every webhook).
        forged = json.dumps(popup(tenant, int(anna), call, "close", "closed")).encode()
        key = f"{tenant}:{call}".encode()
        ca_only = {"security.protocol": "ssl",
                   "ssl.ca.location": secured["user_env"]("ingest")["KAFKA_SSL_CA_FILE"]}
        ingest_conf = security_conf(secured["user_env"]("ingest"))
        for conf in ({}, ca_only, ingest_conf):
            err = produce(brokers, conf, topics["TOPIC_POPUPS"], key, forged)
            assert err is not None, conf
        assert "AUTHORIZATION" in str(produce(brokers, ingest_conf, topics["TOPIC_POPUPS"],
                                              key, forged))
        assert "AUTHORIZATION" in str(produce(brokers, ingest_conf, topics["TOPIC_TENANT_TOKENS"],
                                              tenant.encode(), None))
        # The pipeline's next message for the call (same key, same partition: after the
        # refused ones) arrives, and no forged state came before it.
        r = requests.post(url, data=uis_body(call, "ANSWERED", "79031112233", "101"), timeout=15)
        assert r.status_code == 200
        wait_until(lambda: len(stream.states(call)) > 1, what="the next popup of the call")
        assert stream.states(call) == ["ringing", "in_call"]
        stream.close()
    finally:
        codes = {s.name: s.stop() for s in reversed(services)}
    assert all(c == 0 for c in codes.values()), codes
