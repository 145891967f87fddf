-- The tenant's UIS API key at work (issue 17): the key check, UIS employees and their link to
-- CRM users, and reconciliation against UIS's calls report. Touches only what 001 created.

-- What get.account said when the key was last accepted (crmctl tenant uis-key). The account's
-- time zone is the one UIS writes report dates in.
ALTER TABLE tenants
    ADD COLUMN uis_key_accepted_at timestamptz,
    ADD COLUMN uis_timezone        text,
    ADD COLUMN uis_account_name    text;

-- UIS's employees as get.employees last listed them, and the CRM user each is linked to. The
-- link is what reconciliation (the answering employee's extension) and click-to-call (the UIS
-- employee id) need.
CREATE TABLE uis_employees (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    employee_id bigint NOT NULL,
    full_name   text NOT NULL,
    extension   text,                   -- UIS's extension_phone_number, null when none
    status      text,
    user_id     bigint,                 -- the linked CRM user, null when none
    synced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, employee_id),
    UNIQUE (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id)
);

-- One row per tenant the reconciler has looked at: the durable watermark (every call that
-- started before it has been compared), the pass in progress (resumed after a crash at the
-- offset of the last page whose events Kafka acknowledged) and why it stopped, if it did.
CREATE TABLE uis_reconcile (
    tenant_id       text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    watermark       timestamptz,
    pass_from       timestamptz,
    pass_till       timestamptz,
    pass_offset     integer NOT NULL DEFAULT 0 CHECK (pass_offset >= 0),
    status          text NOT NULL DEFAULT 'ok',   -- ok, or uis_api_action_name() of the stop
    status_detail   text,                         -- UIS's mnemonic and message
    status_at       timestamptz,
    last_pass_at    timestamptz,
    calls_seen      bigint NOT NULL DEFAULT 0,
    calls_filled    bigint NOT NULL DEFAULT 0,
    events_produced bigint NOT NULL DEFAULT 0,
    points_spent    bigint NOT NULL DEFAULT 0
);
