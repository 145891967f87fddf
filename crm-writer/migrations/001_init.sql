-- The CRM store (SPEC §3, §4, §9, §10). Every table is keyed by tenant. Constraints, not code,
-- make the pipeline's effects idempotent: one contact per call, one missed-call task per call,
-- one auto-created counterparty per number, one deal-history entry per call and deal.

CREATE TABLE tenants (
    id                           text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                         text NOT NULL,
    uis_api_key                  text NOT NULL DEFAULT '',      -- secret: never logged or listed
    notify_responsible_only      boolean NOT NULL DEFAULT false,
    create_contact_on_call       boolean NOT NULL DEFAULT true,
    add_call_to_last_active_deal boolean NOT NULL DEFAULT true,
    create_missed_call_task      boolean NOT NULL DEFAULT true,
    unknown_to_fixed_counterparty boolean NOT NULL DEFAULT false,
    fixed_counterparty_id        bigint,
    webhook_key_id               text NOT NULL DEFAULT '',
    webhook_token_version        bigint NOT NULL DEFAULT 1 CHECK (webhook_token_version > 0),
    settings_version             bigint NOT NULL DEFAULT 1,     -- bumped on every change: caches refresh
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    login      text NOT NULL,
    name       text NOT NULL,
    active     boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, login)
);

-- The ordered list of CRM users named in the plugin settings (fallback popup and task targets).
CREATE TABLE settings_employees (
    tenant_id  text NOT NULL,
    position   integer NOT NULL CHECK (position >= 0),
    user_id    bigint NOT NULL,
    PRIMARY KEY (tenant_id, position),
    UNIQUE (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- CRM user <-> UIS extension number (guide §2.3).
CREATE TABLE extensions (
    tenant_id  text NOT NULL,
    extension  text NOT NULL,
    user_id    bigint NOT NULL,
    PRIMARY KEY (tenant_id, extension),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE counterparties (
    tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    name                text NOT NULL,
    work_phone_raw      text,
    work_phone          text,           -- E.164
    mobile_phone_raw    text,
    mobile_phone        text,           -- E.164
    responsible_user_id bigint,
    auto_created_number text,           -- set only on counterparties the pipeline created (E.164)
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, responsible_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX counterparties_work_phone ON counterparties (tenant_id, work_phone);
CREATE INDEX counterparties_mobile_phone ON counterparties (tenant_id, mobile_phone);
-- One auto-created counterparty per number, whatever the number of concurrent calls/replicas.
CREATE UNIQUE INDEX counterparties_auto_number ON counterparties (tenant_id, auto_created_number)
    WHERE auto_created_number IS NOT NULL;

ALTER TABLE tenants ADD FOREIGN KEY (id, fixed_counterparty_id)
    REFERENCES counterparties (tenant_id, id) DEFERRABLE INITIALLY DEFERRED;

CREATE TYPE deal_stage AS ENUM ('open', 'won', 'lost', 'closed');

CREATE TABLE deals (
    tenant_id        text NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    counterparty_id  bigint NOT NULL,
    title            text NOT NULL,
    stage            deal_stage NOT NULL DEFAULT 'open',
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id)
);
CREATE INDEX deals_active ON deals (tenant_id, counterparty_id, last_activity_at DESC)
    WHERE stage = 'open';

CREATE TABLE deal_history (
    tenant_id      text NOT NULL,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    deal_id        bigint NOT NULL,
    call_id        text NOT NULL,
    kind           text NOT NULL DEFAULT 'call',
    direction      text NOT NULL CHECK (direction IN ('in', 'out')),
    phone          text,
    user_id        bigint,
    duration_s     integer CHECK (duration_s >= 0),
    record_urls    text[] NOT NULL DEFAULT '{}',
    occurred_at    timestamptz NOT NULL,   -- when the call's recorded event was received
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, call_id, deal_id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Declared in rank order: a contact's state is the greatest ever applied (GREATEST), so the
-- outcome does not depend on the order of the actions. A recorded conversation (completed)
-- outranks missed: it proves the call was answered.
CREATE TYPE contact_state AS ENUM ('ringing', 'answered', 'missed', 'completed');

-- The call log (SPEC §4 "Contact document"): exactly one row per call.
CREATE TABLE contacts (
    tenant_id        text NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    call_id          text NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('in', 'out')),
    caller           text,              -- E.164; NULL for a hidden number
    caller_raw       text NOT NULL DEFAULT '',
    virtual_number   text,
    counterparty_id  bigint,
    answered_by      bigint,
    state            contact_state NOT NULL,
    ringing_at       timestamptz,
    answered_at      timestamptz,
    ended_at         timestamptz,
    record_urls      text[] NOT NULL DEFAULT '{}',
    revision         bigint NOT NULL DEFAULT 1,  -- +1 on every change: (id, revision) names a version
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, call_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, answered_by) REFERENCES users (tenant_id, id)
);

CREATE TABLE tasks (
    tenant_id        text NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    call_id          text NOT NULL,
    kind             text NOT NULL DEFAULT 'missed_call',
    title            text NOT NULL,
    phone            text,
    counterparty_id  bigint,
    assignee_user_id bigint,
    done             boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, call_id, kind),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, counterparty_id) REFERENCES counterparties (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_user_id) REFERENCES users (tenant_id, id)
);

-- Router's per-call state (SPEC §10): which popups are open and how far the call got. Owned by
-- the router (its only writes); kept here so that one migration tool versions the whole store.
CREATE TABLE router_calls (
    tenant_id     text NOT NULL,
    call_id       text NOT NULL,
    state         contact_state NOT NULL,
    facts         jsonb NOT NULL,      -- the merged facts of every event seen for the call
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, call_id)
);
CREATE INDEX router_calls_updated ON router_calls (updated_at);

-- RFC 3339 UTC text of a time, for the JSON the writer and crmctl emit (independent of the
-- session's TimeZone and DateStyle).
CREATE FUNCTION rfc3339(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
