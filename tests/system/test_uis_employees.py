"""crmctl uis employees / link (issue 17): UIS's employees beside the CRM users they are linked
to, links by hand and by names, and a linked user's extension following UIS on a sync, with a
conflict reported instead of guessed."""
import json

from crm_writer_support import Tenant, crmctl, query
from uis_support import crmctl_uis, fake_uis_server, migrated, new_key  # noqa: F401  (fixtures)


def extensions(stack, tenant):
    return dict(query(stack, "SELECT extension, user_id FROM extensions WHERE tenant_id = %s",
                      tenant))


def test_employees_link_and_sync(migrated, fake_uis_server):
    stack, fake = migrated, fake_uis_server
    t = Tenant(stack, "uisemp")   # users Анна (ext 101) and Иван
    olga = int(crmctl(stack, "user", "add", t.id, "--login", "olga", "--name",
                      "Ольга Кузнецова").stdout)
    key = new_key()
    fake.account(key, timezone="Europe/Moscow")
    fake.employees(key, [{"id": 11, "full_name": "Кузнецова Ольга Петровна", "extension": "105"},
                         {"id": 12, "full_name": "Сидоров Пётр", "extension": "106"},
                         {"id": 13, "full_name": "Иван", "extension": "101"}])
    crmctl_uis(stack, fake, "tenant", "uis-key", t.id, stdin=key)

    listed = json.loads(crmctl_uis(stack, fake, "uis", "employees", t.id, "--json").stdout)
    assert [(e["employee_id"], e["extension"], e["user_id"]) for e in listed] == \
        [(11, "105", None), (12, "106", None), (13, "101", None)]
    text = crmctl_uis(stack, fake, "uis", "employees", t.id).stdout
    assert "Кузнецова Ольга Петровна" in text and "UIS_ID" in text

    # --auto proposes (names in any order, patronymic on one side), does nothing without --yes.
    p = crmctl_uis(stack, fake, "uis", "link", t.id, "--auto")
    assert f"would link CRM user {olga} (Ольга Кузнецова) to UIS employee 11" in p.stdout
    assert "Иван" not in p.stdout   # one word matches nobody
    assert all(e["user_id"] is None for e in json.loads(
        crmctl_uis(stack, fake, "uis", "employees", t.id, "--json").stdout))
    p = crmctl_uis(stack, fake, "uis", "link", t.id, "--auto", "--yes")
    assert "1 of 1 link(s) made" in p.stdout
    assert extensions(stack, t.id)["105"] == olga   # the link maps the UIS extension

    # By hand; the extension 101 of employee 13 already belongs to Анна: refused, said why.
    p = crmctl_uis(stack, fake, "uis", "link", t.id, t.ivan, 13, check=False)
    assert p.returncode == 1 and "extension 101 of UIS employee 13 is mapped to another CRM user" \
        in p.stderr
    crmctl_uis(stack, fake, "uis", "link", t.id, t.ivan, 12)
    assert extensions(stack, t.id)["106"] == t.ivan
    p = crmctl_uis(stack, fake, "uis", "link", t.id, t.ivan, 99, check=False)
    assert p.returncode == 1 and "UIS employee 99 is not known" in p.stderr

    # UIS moves Ольга to 107 and Пётр to 101 (Анна's): Ольга follows, Пётр is a conflict.
    fake.employees(key, [{"id": 11, "full_name": "Кузнецова Ольга Петровна", "extension": "107"},
                         {"id": 12, "full_name": "Сидоров Пётр", "extension": "101"}])
    p = crmctl_uis(stack, fake, "uis", "employees", t.id)
    assert "conflict: UIS employee 12" in p.stderr and "extension 101" in p.stderr
    ext = extensions(stack, t.id)
    assert ext.get("107") == olga and "105" not in ext
    assert ext["101"] == t.anna and ext["106"] == t.ivan   # left alone, not guessed
    shown = json.loads(crmctl(stack, "tenant", "show", t.id, "--json").stdout)
    assert {"extension": "107", "user_id": olga} in shown["extensions"]
