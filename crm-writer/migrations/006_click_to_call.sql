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

-- A missed-call task closes itself when the same number is reached by a later call of the same
-- tenant that was talked (incoming answered, or outgoing answered: a callback), recording who
-- closed it and by which call. Decided where both facts meet in one transaction: the router's
-- per-call row (router_calls, written for every call whatever the tenant's settings) reaching
-- answered/completed, and the task's insertion (a task written after the callback was already
-- talked is born done). "Later" is by the calls' first notification (facts.first_us).
ALTER TABLE tasks
    ADD COLUMN closed_at         timestamptz,
    ADD COLUMN closed_by_call_id text,
    ADD COLUMN closed_by_user_id bigint;
CREATE INDEX tasks_open_missed ON tasks (tenant_id, phone) WHERE NOT done AND kind = 'missed_call';
CREATE INDEX router_calls_caller ON router_calls (tenant_id, (facts->>'caller'))
    WHERE state IN ('answered', 'completed');

-- The CRM user on a talked call: who answered or was recorded, else (an outgoing call) the
-- extension that dialled.
CREATE FUNCTION call_talker(tenant text, facts jsonb) RETURNS bigint
    LANGUAGE sql STABLE
    RETURN (SELECT e.user_id FROM extensions e
             WHERE e.tenant_id = tenant
               AND e.extension IN (facts->>'answered_ext', facts->>'hangup_ext')
               AND e.extension <> ''
             ORDER BY e.extension = facts->>'answered_ext' DESC LIMIT 1);

CREATE FUNCTION call_caller_user(tenant text, facts jsonb) RETURNS bigint
    LANGUAGE sql STABLE
    RETURN coalesce(call_talker(tenant, facts),
                    CASE WHEN facts->>'direction' = 'out' THEN
                        (SELECT e.user_id FROM extensions e,
                                jsonb_array_elements_text(facts->'exts') AS x(ext)
                          WHERE e.tenant_id = tenant AND e.extension = x.ext
                          ORDER BY x.ext LIMIT 1) END);

CREATE FUNCTION missed_tasks_close_on_talk() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(NEW.facts->>'caller', '') = '' THEN
        RETURN NEW;
    END IF;
    UPDATE tasks t SET done = true, closed_at = now(), closed_by_call_id = NEW.call_id,
                       closed_by_user_id = call_caller_user(NEW.tenant_id, NEW.facts)
      FROM router_calls m
     WHERE t.tenant_id = NEW.tenant_id AND t.kind = 'missed_call' AND NOT t.done
       AND t.phone = NEW.facts->>'caller' AND t.call_id <> NEW.call_id
       AND m.tenant_id = t.tenant_id AND m.call_id = t.call_id
       AND (m.facts->>'first_us')::bigint < (NEW.facts->>'first_us')::bigint;
    RETURN NEW;
END $$;

CREATE TRIGGER router_calls_close_missed_tasks
    AFTER INSERT OR UPDATE OF state ON router_calls
    FOR EACH ROW WHEN (NEW.state IN ('answered', 'completed'))
    EXECUTE FUNCTION missed_tasks_close_on_talk();

CREATE FUNCTION missed_task_born_closed() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    later router_calls%ROWTYPE;
BEGIN
    IF NEW.kind <> 'missed_call' OR NEW.done OR coalesce(NEW.phone, '') = '' THEN
        RETURN NEW;
    END IF;
    SELECT c.* INTO later FROM router_calls c, router_calls m
     WHERE c.tenant_id = NEW.tenant_id AND c.facts->>'caller' = NEW.phone
       AND c.state IN ('answered', 'completed') AND c.call_id <> NEW.call_id
       AND m.tenant_id = NEW.tenant_id AND m.call_id = NEW.call_id
       AND (c.facts->>'first_us')::bigint > (m.facts->>'first_us')::bigint
     ORDER BY (c.facts->>'first_us')::bigint LIMIT 1;
    IF FOUND THEN
        NEW.done := true;
        NEW.closed_at := now();
        NEW.closed_by_call_id := later.call_id;
        NEW.closed_by_user_id := call_caller_user(later.tenant_id, later.facts);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tasks_missed_born_closed
    BEFORE INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION missed_task_born_closed();
