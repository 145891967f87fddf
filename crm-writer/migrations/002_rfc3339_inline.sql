-- rfc3339() was declared IMMUTABLE around the STABLE to_char(), which keeps PostgreSQL from
-- inlining it: every call went through the SQL-function executor and cost the writer's upsert
-- more than the upsert itself. STABLE matches its body, so the planner inlines it.
CREATE OR REPLACE FUNCTION rfc3339(t timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
