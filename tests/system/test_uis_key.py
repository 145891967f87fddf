"""crmctl's key check (issue 17): `tenant uis-key` reads the key from stdin, asks UIS
(get.account), stores it with the account's time zone, or says why UIS refused it and stores
nothing; no way is left to put the key in argv."""
import json
import subprocess
import time

from crm_writer_support import CRMCTL, Tenant, base_env, crmctl, query, wait_until
from uis_support import crmctl_uis, fake_uis_server, migrated, new_key  # noqa: F401  (fixtures)


def stored(stack, tenant):
    return query(stack, "SELECT uis_api_key, uis_timezone, uis_key_accepted_at FROM tenants"
                 " WHERE id = %s", tenant)[0]


def test_key_accepted_and_refused(migrated, fake_uis_server):
    stack = migrated
    fake = fake_uis_server
    t = Tenant(stack, "uiskey")
    key = new_key()
    fake.account(key, name="ООО Ромашка", timezone="Asia/Yekaterinburg")

    p = crmctl_uis(stack, fake, "tenant", "uis-key", t.id, stdin=key + "\n")
    assert "Asia/Yekaterinburg" in p.stdout and key not in p.stdout + p.stderr
    assert stored(stack, t.id)[:2] == (key, "Asia/Yekaterinburg")
    shown = json.loads(crmctl(stack, "tenant", "show", t.id, "--json").stdout)
    assert shown["uis_api_key_set"] is True and shown["uis_key_accepted_at"]
    assert shown["uis_timezone"] == "Asia/Yekaterinburg"
    text = crmctl(stack, "tenant", "show", t.id).stdout
    assert key not in text

    # Every refusal names UIS's mnemonic and the cause, and leaves the stored key alone.
    cases = [
        ("nope-" + new_key(), {}, "access_token_invalid", "wrong, expired or blocked"),
        (new_key(), {"key_status": "blocked"}, "access_token_blocked", "wrong, expired or blocked"),
        (new_key(), {"key_status": "expired"}, "access_token_expired", "wrong, expired or blocked"),
        (new_key(), {"allowed_ips": ["10.9.8.0/24"]}, "ip_not_whitelisted", "IP list"),
        (new_key(), {"active": False}, "account_inactive", "account is disabled"),
    ]
    for bad, spec, mnemonic, cause in cases:
        if not bad.startswith("nope-"):
            fake.account(bad, **spec)
        p = crmctl_uis(stack, fake, "tenant", "uis-key", t.id, stdin=bad, check=False)
        assert p.returncode == 1, p.stderr
        assert mnemonic in p.stderr and cause in p.stderr and "nothing was stored" in p.stderr
        assert bad not in p.stdout + p.stderr
        assert stored(stack, t.id)[0] == key

    # UIS unreachable: a transport failure, nothing stored.
    p = subprocess.run([str(CRMCTL), "tenant", "uis-key", t.id], input=new_key(),
                       env=base_env(stack, UIS_DATA_API_URL="http://127.0.0.1:9/v2.0",
                                    UIS_API_TIMEOUT_MS=2000),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "transport" in p.stderr
    assert stored(stack, t.id)[0] == key

    # An unknown tenant costs no UIS point.
    before = len(fake.log())
    p = crmctl_uis(stack, fake, "tenant", "uis-key", "no-such-tenant-x", stdin=key, check=False)
    assert p.returncode == 1 and "tenant no-such-tenant-x does not exist" in p.stderr
    assert len(fake.log()) == before
    p = crmctl_uis(stack, fake, "tenant", "uis-key", t.id, stdin="\n", check=False)
    assert p.returncode == 1 and "empty" in p.stderr


def test_no_key_in_argv(migrated, tmp_path):
    stack = migrated
    t = Tenant(stack, "uisargv")
    key = new_key()
    p = crmctl(stack, "tenant", "install", t.id, "--name", "X", "--uis-api-key", key, check=False,
               TOPIC_TENANT_TOKENS="crmw.test-tokens")
    assert p.returncode == 2 and "--uis-api-key is no longer accepted" in p.stderr
    assert key not in p.stderr
    p = crmctl(stack, "tenant", "set", t.id, "uis_api_key=" + key, check=False)
    assert p.returncode == 2 and "cannot be given on the command line" in p.stderr
    assert key not in p.stderr
    assert query(stack, "SELECT uis_api_key FROM tenants WHERE id = %s", t.id)[0][0] == ""
    # The file way is kept (not checked with UIS: tenant show says so).
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"uis_api_key": key}))
    crmctl(stack, "tenant", "install", t.id, "--name", "X", "--settings", settings,
           TOPIC_TENANT_TOKENS="crmw.test-tokens")
    shown = json.loads(crmctl(stack, "tenant", "show", t.id, "--json").stdout)
    assert shown["uis_api_key_set"] is True and shown["uis_key_accepted_at"] is None


def command_lines():
    """Every process's argv and environment as ps would show them (all of /proc)."""
    out = subprocess.run(["ps", "-eww", "-o", "args="], capture_output=True, text=True,
                         check=True).stdout
    return out


def test_ps_never_shows_the_key(migrated, fake_uis_server):
    stack = migrated
    fake = fake_uis_server
    t = Tenant(stack, "uisps")
    key = new_key()
    fake.account(key, timezone="Europe/Moscow")
    proc = subprocess.Popen([str(CRMCTL), "tenant", "uis-key", t.id], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=base_env(stack, **fake.env()))
    try:
        # While crmctl waits for the key, and while it talks to UIS: ps shows its command line
        # (so the sampling works) and never the key.
        wait_until(lambda: f"uis-key {t.id}" in command_lines(), timeout=20,
                   what="crmctl in ps")
        assert key not in command_lines()
        proc.stdin.write(key + "\n")
        proc.stdin.flush()
        samples = 0
        while proc.poll() is None and samples < 200:
            assert key not in command_lines()
            samples += 1
            time.sleep(0.01)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert key not in out + err
    assert stored(stack, t.id)[0] == key
