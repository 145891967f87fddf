-- Click-to-call (issue 18): the number a tenant's callbacks show the client, and one durable row
-- per call request, claimed before UIS is asked, so that no request ever makes two calls.

-- E.164; null: the virtual number most recently seen in the tenant's notifications.
ALTER TABLE tenants ADD COLUMN uis_virtual_number text;

CREATE TABLE call_requests (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    request_id      text NOT NULL,          -- the request's uuid: UIS's external_id
    user_id         bigint NOT NULL,
    phone           text NOT NULL,          -- E.164
    counterparty_id bigint,
    -- claimed: the dialer took it and may be asking UIS right now (or died doing so);
    -- calling: UIS started the call; failed: UIS (or we) refused it, no call;
    -- unknown: the dialer died or lost UIS's answer after asking: never asked again.
    status          text NOT NULL DEFAULT 'claimed'
                    CHECK (status IN ('claimed', 'calling', 'failed', 'unknown')),
    reason          text,                   -- why failed/unknown: a stable word (dial_msg.h)
    detail          text,                   -- UIS's mnemonic and message, for an admin
    employee_id     bigint,
    virtual_number  text,
    call_session_id text,                   -- UIS's answer: the call's call_id in the pipeline
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX call_requests_session ON call_requests (tenant_id, call_session_id)
    WHERE call_session_id IS NOT NULL;
