"""System-test harness: the local stack of deploy/local.

The session fixture `stack` reuses a running stack or brings one up with
deploy/local/up, and takes it down at the end only when a test session started
it and no other test session (on this machine, same STACK_DIR) still uses it.
Set KEEP_STACK=1 to leave it running.
"""
import contextlib
import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from harness import in_ci

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "local"


def _run(script, check=True):
    # We hold the stack lock (see stack_lock); the script must not wait for it.
    proc = subprocess.run([str(LOCAL / script)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "STACK_LOCKED": "1"})
    if check and proc.returncode != 0:
        pytest.fail(f"deploy/local/{script} failed ({proc.returncode}):\n"
                    f"{proc.stdout}\n{proc.stderr}", pytrace=False)
    return proc


@contextlib.contextmanager
def stack_lock(run_dir):
    """The lock deploy/local/up and down take (flock on run/stack.lock)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "stack.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def stack_env():
    """The stack's settings, as env.sh computes them from the current environment."""
    out = subprocess.run(["bash", "-c", f"source '{LOCAL / 'env.sh'}' && env -0"],
                         check=True, capture_output=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


@pytest.fixture(scope="session")
def stack():
    env = stack_env()
    run_dir = Path(env["STACK_RUN_DIR"])
    leases = run_dir / "test-sessions"
    marker = run_dir / "started-by-tests"
    with stack_lock(run_dir):
        if _run("status", check=False).returncode != 0:
            _run("up")
            marker.touch()
        leases.mkdir(exist_ok=True)
        lease = leases / str(os.getpid())
        lease.touch()
    topics = {k[len("TOPIC_"):].lower(): v for k, v in env.items()
              if k.startswith("TOPIC_") and k != "TOPIC_PARTITIONS"}
    yield {
        "brokers": env["KAFKA_BROKERS"],
        "pg_dsn": env["PG_DSN"],
        "topics": topics,
        "partitions": int(env["TOPIC_PARTITIONS"]),
        "stack_dir": env["STACK_DIR"],
        "env": env,
    }
    with stack_lock(run_dir):
        lease.unlink(missing_ok=True)
        others = [p for p in leases.iterdir() if p.name.isdigit() and _alive(int(p.name))]
        if marker.exists() and not others and os.environ.get("KEEP_STACK") != "1":
            _run("down", check=False)
            marker.unlink(missing_ok=True)


@pytest.fixture
def new_topic(stack):
    """Factory creating throwaway topics with unique names; deleted afterwards."""
    from pipeline_support import own_topics

    with own_topics(stack["brokers"]) as make:
        yield make


def pytest_runtest_setup(item):
    """@pytest.mark.requires(ok, reason): skip when a prerequisite is missing, but fail under CI
    (CI set): a CI run must not turn green by skipping what it could not find."""
    for mark in item.iter_markers("requires"):
        ok, reason = mark.args
        if not ok:
            if in_ci():
                pytest.fail(f"{reason} (CI is set: a missing prerequisite fails)", pytrace=False)
            pytest.skip(reason)
