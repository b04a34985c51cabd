-- relaunch on PostgreSQL: database roles that separate admins, agents and submitters.
--
-- What it sets up, and what each role may still do: docs/access.md.
--
-- Run it as a superuser (or the database's owner with CREATEROLE) AFTER the
-- migrations (any relaunch command applies them, e.g. `relaunch queue list`):
--
--   psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f scripts/pg-roles.sql
--
-- and again after every relaunch upgrade that adds a migration: it is idempotent
-- (it revokes what it grants, then grants again) and runs in one transaction.
-- Roles are cluster-wide; everything else applies to the current database and to
-- the schema the relaunch tables are in (the first one on the search_path).
--
-- The group roles are relaunch_admin, relaunch_agent and relaunch_submitter. To
-- use other names, replace those three words throughout (the test suite does, so
-- parallel runs on one cluster do not share roles).
--
-- Keep in step with launch_core/store/schema.py: tests/store/test_pg_roles.py
-- fails when a table has no grants here.

BEGIN;

DO $$
BEGIN
    IF to_regclass('items') IS NULL OR to_regclass('alembic_version') IS NULL THEN
        RAISE EXCEPTION 'no relaunch tables in schema %: apply the migrations first (run any relaunch command with this database''s URL)',
            current_schema();
    END IF;
END $$;

-- 1. Group roles (NOLOGIN). Login roles join them: GRANT relaunch_agent TO agent_1;
DO $$
DECLARE
    group_role text;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['relaunch_admin', 'relaunch_agent', 'relaunch_submitter']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = group_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', group_role);
        END IF;
    END LOOP;
END $$;

-- 2. The admin owns the schema and every relaunch table and sequence, so its
-- members run the migrations and manage queues. Nobody else may create objects
-- in the schema (a temporary or look-alike object could shadow the ones below).
DO $$
DECLARE
    schema_name text := current_schema();
    rel text;
BEGIN
    EXECUTE format('ALTER SCHEMA %I OWNER TO relaunch_admin', schema_name);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', schema_name);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO relaunch_agent, relaunch_submitter',
                   schema_name);
    -- A table's id sequence changes owner with it.
    FOREACH rel IN ARRAY ARRAY['queues', 'items', 'events', 'agents', 'blobs',
                               'quotas', 'launch_jobs', 'launch_job_versions',
                               'launch_job_aliases', 'alembic_version'] LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO relaunch_admin', rel);
    END LOOP;
END $$;

-- The dependencies of launch --after (migration 0007).
ALTER TABLE item_deps OWNER TO relaunch_admin;
-- Sweeps and their trials (migration 0009).
ALTER TABLE sweeps OWNER TO relaunch_admin;
ALTER TABLE sweep_trials OWNER TO relaunch_admin;

-- 3. Which entities each role serves: a row (role, entity) lets the members of
-- `role` see and act on the queues, items, events, agents and code tarballs of
-- `entity`; '*'
-- means every entity (a shared agent). Only relaunch_admin writes it; others
-- read their own rows. An unmapped submitter or agent sees nothing.
CREATE TABLE IF NOT EXISTS relaunch_entity_roles (
    role name NOT NULL,
    entity varchar(64) NOT NULL,
    PRIMARY KEY (role, entity)
);
ALTER TABLE relaunch_entity_roles OWNER TO relaunch_admin;
REVOKE ALL ON relaunch_entity_roles FROM PUBLIC, relaunch_agent, relaunch_submitter;
GRANT SELECT ON relaunch_entity_roles TO relaunch_agent, relaunch_submitter;
ALTER TABLE relaunch_entity_roles ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON relaunch_entity_roles;
CREATE POLICY own_rows ON relaunch_entity_roles FOR SELECT
    TO relaunch_agent, relaunch_submitter
    USING (EXISTS (SELECT 1 FROM pg_roles r
                   WHERE r.rolname = role AND pg_has_role(current_user, r.oid, 'MEMBER')));

-- relaunch_serves(entity): does the current user serve this entity? The policies
-- below call it. Its search_path is fixed (pg_temp last), so a temporary table
-- named relaunch_entity_roles cannot stand in for the real one.
DO $do$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION relaunch_serves(e text) RETURNS boolean
        LANGUAGE sql STABLE SET search_path = pg_catalog, %I, pg_temp AS $body$
            SELECT EXISTS (
                SELECT 1 FROM relaunch_entity_roles m JOIN pg_roles r ON r.rolname = m.role
                WHERE m.entity IN (e, '*') AND pg_has_role(current_user, r.oid, 'MEMBER'))
        $body$ $f$, current_schema());
END $do$;
ALTER FUNCTION relaunch_serves(text) OWNER TO relaunch_admin;

-- 4. Table privileges. Everything is revoked first (column grants included), so a
-- re-run drops what an older version of this script granted.
REVOKE ALL ON queues, items, events, agents, blobs, quotas, alembic_version
    FROM PUBLIC, relaunch_agent, relaunch_submitter;
REVOKE ALL ON launch_jobs, launch_job_versions, launch_job_aliases
    FROM PUBLIC, relaunch_agent, relaunch_submitter;
REVOKE ALL ON SEQUENCE queues_id_seq, items_id_seq, events_id_seq
    FROM PUBLIC, relaunch_agent, relaunch_submitter;

-- Opening the store reads the schema revision (no DDL when it is current).
GRANT SELECT ON alembic_version TO relaunch_agent, relaunch_submitter;

-- queues: only the admin creates, changes or deletes them.
GRANT SELECT ON queues TO relaunch_agent, relaunch_submitter;

-- quotas: only the admin sets them; agents read them in the claim, submitters in
-- job status (why an item waits).
GRANT SELECT ON quotas TO relaunch_agent, relaunch_submitter;

-- items: an agent claims, moves and leases items; it never creates one, and never
-- changes what was asked (spec, run id, submitter, project). It may move a queued
-- item to its queue's fallback queue (queue_id, enqueued_at, and priority and gpus as
-- that queue reads them; the row policy keeps it inside the entities the agent
-- serves) and record the values a retry raised (raised).
GRANT SELECT, UPDATE (state, agent_id, claim_token, lease_expires_at, handle, stage,
                      reason, exit_code, started_at, finished_at, attempts,
                      resume_count, updated_at, devices, retries, raised, queue_id,
                      enqueued_at, priority, gpus, held)
    ON items TO relaunch_agent;
-- A submitter enqueues (an array's jobs in one group, jobs held for what they wait
-- for) and cancels (a job waiting for a cancelled one ends cancelled, its reason
-- naming it); the trigger in step 6 confines its updates.
GRANT SELECT, INSERT (queue_id, state, priority, enqueued_at, run_id, spec,
                      max_attempts, updated_at, submitter, project, gpus, group_id,
                      array_index, held),
      UPDATE (state, cancel_requested, finished_at, lease_expires_at, updated_at, reason)
    ON items TO relaunch_submitter;
GRANT USAGE ON SEQUENCE items_id_seq TO relaunch_submitter;

-- item_deps (launch --after): a submitter records what the jobs it enqueues wait for;
-- an agent reads them to release a held job when they have finished (held, above) or
-- cancel it when one failed. Nobody changes or deletes a dependency (the admin aside).
REVOKE ALL ON item_deps FROM PUBLIC, relaunch_agent, relaunch_submitter;
GRANT SELECT ON item_deps TO relaunch_agent;
GRANT SELECT, INSERT ON item_deps TO relaunch_submitter;

-- events: an append-only audit log (no UPDATE or DELETE for anyone but the admin).
GRANT SELECT, INSERT ON events TO relaunch_agent, relaunch_submitter;
GRANT USAGE ON SEQUENCE events_id_seq TO relaunch_agent, relaunch_submitter;

-- agents: an agent registers itself and heartbeats, and reads the stop an admin asked
-- of it (stop_requested, which only the admin writes: relaunch agent stop); a submitter
-- reads them (job status says whether an agent polls the queue) but stops none.
GRANT SELECT, INSERT, UPDATE (heartbeat_at, stopped_at) ON agents TO relaunch_agent;
GRANT SELECT ON agents TO relaunch_submitter;

-- blobs (code tarballs, each owned by the entity that uploaded it): an agent reads
-- those of its entities; a submitter stores its entities' tarballs and may read
-- which ones they have (enqueue checks whether its entity has the tarball already),
-- never a tarball's bytes.
GRANT SELECT ON blobs TO relaunch_agent;
GRANT SELECT (entity, digest), INSERT ON blobs TO relaunch_submitter;

-- launch jobs (relaunch job create, describe, versions, alias, delete): a submitter
-- creates its entities' jobs and versions, moves their aliases and deletes them; a
-- version, once written, never changes (no UPDATE of launch_job_versions). An agent
-- reads them only (a run's spec holds all it needs).
GRANT SELECT ON launch_jobs, launch_job_versions, launch_job_aliases TO relaunch_agent;
GRANT SELECT, INSERT, DELETE, UPDATE (next_version, updated_at) ON launch_jobs
    TO relaunch_submitter;
GRANT SELECT, INSERT, DELETE ON launch_job_versions TO relaunch_submitter;
GRANT SELECT, INSERT, DELETE, UPDATE (version) ON launch_job_aliases TO relaunch_submitter;

-- sweeps (relaunch launch-sweep, sweep stop|resume): a submitter creates its
-- entities' sweeps (with the scheduler item, enqueued as any job), stops and resumes
-- them. An agent runs a sweep's scheduler: it ends the sweep, records the trials and
-- enqueues each trial's item in the sweep's group (the agent_trial policy below).
REVOKE ALL ON sweeps, sweep_trials FROM PUBLIC, relaunch_agent, relaunch_submitter;
GRANT SELECT, INSERT, UPDATE (state, scheduler_item, updated_at) ON sweeps
    TO relaunch_submitter;
GRANT SELECT ON sweep_trials TO relaunch_submitter;
GRANT SELECT, UPDATE (state, updated_at) ON sweeps TO relaunch_agent;
GRANT SELECT, INSERT, UPDATE (record, state, metric, updated_at) ON sweep_trials
    TO relaunch_agent;
GRANT INSERT (queue_id, state, priority, enqueued_at, run_id, spec, max_attempts,
              updated_at, submitter, project, gpus, group_id, array_index, held)
    ON items TO relaunch_agent;
GRANT USAGE ON SEQUENCE items_id_seq TO relaunch_agent;

-- 5. Row-level security: the entity confinement. The admin owns the tables and is
-- not subject to it. Policies are dropped and created again on each run.
ALTER TABLE queues ENABLE ROW LEVEL SECURITY;
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE blobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE quotas ENABLE ROW LEVEL SECURITY;
ALTER TABLE item_deps ENABLE ROW LEVEL SECURITY;
ALTER TABLE launch_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE launch_job_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE launch_job_aliases ENABLE ROW LEVEL SECURITY;
ALTER TABLE sweeps ENABLE ROW LEVEL SECURITY;
ALTER TABLE sweep_trials ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS served ON quotas;
CREATE POLICY served ON quotas FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (relaunch_serves(entity));

DROP POLICY IF EXISTS served ON queues;
CREATE POLICY served ON queues FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (relaunch_serves(entity));

DROP POLICY IF EXISTS served ON items;
CREATE POLICY served ON items FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (EXISTS (SELECT 1 FROM queues q
                   WHERE q.id = queue_id AND relaunch_serves(q.entity)));
DROP POLICY IF EXISTS agent_update ON items;
CREATE POLICY agent_update ON items FOR UPDATE TO relaunch_agent
    USING (EXISTS (SELECT 1 FROM queues q
                   WHERE q.id = queue_id AND relaunch_serves(q.entity)));
DROP POLICY IF EXISTS submitter_update ON items;
CREATE POLICY submitter_update ON items FOR UPDATE TO relaunch_submitter
    USING (EXISTS (SELECT 1 FROM queues q
                   WHERE q.id = queue_id AND relaunch_serves(q.entity)));
-- A new item is queued, in a served queue, at medium priority unless the queue
-- orders by priority, with a run id as enqueue makes them (resources name runs and
-- folders after it) and at most the default 3 attempts. A code digest in its spec
-- names a tarball of the queue's entity (enqueue stores it first, in the same
-- transaction). Its submitter is the role that inserts it: nobody enqueues in
-- another's name (fair share and quotas count by it); its project is its spec's.
-- (What a job asks for in GPUs is counted by the submitter's relaunch; the agent
-- refuses a job that asks for more than its gpus column says.) Agents, claim tokens and
-- handles are left to their defaults by the column grants above.
DROP POLICY IF EXISTS submitter_enqueue ON items;
CREATE POLICY submitter_enqueue ON items FOR INSERT TO relaunch_submitter
    WITH CHECK (state = 'queued' AND run_id ~ '^[a-z0-9]{12}$'
                AND max_attempts BETWEEN 1 AND 3 AND submitter = current_user
                AND gpus IS NOT NULL AND gpus >= 0
                AND project = coalesce(spec ->> 'project', '')
                AND EXISTS (
        SELECT 1 FROM queues q
        WHERE q.id = queue_id AND relaunch_serves(q.entity)
          AND (priority = 2 OR (priority BETWEEN 0 AND 3
                                AND (q.definition ->> 'prioritization')::boolean))
          AND (spec ->> 'code' IS NULL OR spec ->> 'code' NOT LIKE 'sha256:%'
               OR EXISTS (SELECT 1 FROM blobs b
                          WHERE b.entity = q.entity AND b.digest = spec ->> 'code'))));

-- An agent creates an item only as a sweep's trial: queued, in the queue and group
-- of a running sweep of an entity it serves, in its own name.
DROP POLICY IF EXISTS agent_trial ON items;
CREATE POLICY agent_trial ON items FOR INSERT TO relaunch_agent
    WITH CHECK (state = 'queued' AND run_id ~ '^[a-z0-9]{12}$'
                AND max_attempts BETWEEN 1 AND 3 AND submitter = current_user
                AND gpus IS NOT NULL AND gpus >= 0 AND NOT held
                AND project = coalesce(spec ->> 'project', '')
                AND spec ->> 'sweep_id' = group_id
                AND EXISTS (
        SELECT 1 FROM sweeps s JOIN queues q ON q.id = s.queue_id
        WHERE s.id = group_id AND s.queue_id = items.queue_id AND s.state = 'running'
          AND relaunch_serves(q.entity)
          AND (spec ->> 'code' IS NULL OR spec ->> 'code' NOT LIKE 'sha256:%'
               OR EXISTS (SELECT 1 FROM blobs b
                          WHERE b.entity = q.entity AND b.digest = spec ->> 'code'))));

-- A sweep is seen and written within the entities served; its trials with it.
DROP POLICY IF EXISTS served ON sweeps;
CREATE POLICY served ON sweeps FOR ALL TO relaunch_agent, relaunch_submitter
    USING (relaunch_serves(entity)) WITH CHECK (relaunch_serves(entity) AND EXISTS (
        SELECT 1 FROM queues q WHERE q.id = queue_id AND q.entity = sweeps.entity));
DROP POLICY IF EXISTS served ON sweep_trials;
CREATE POLICY served ON sweep_trials FOR ALL TO relaunch_agent, relaunch_submitter
    USING (EXISTS (SELECT 1 FROM sweeps s WHERE s.id = sweep_id))
    WITH CHECK (EXISTS (SELECT 1 FROM sweeps s WHERE s.id = sweep_id));

-- An event is about an item the user may see. A submitter writes only the events
-- of enqueue and cancel.
DROP POLICY IF EXISTS served ON events;
CREATE POLICY served ON events FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (EXISTS (SELECT 1 FROM items i WHERE i.id = item_id));
DROP POLICY IF EXISTS agent_log ON events;
CREATE POLICY agent_log ON events FOR INSERT TO relaunch_agent
    WITH CHECK (EXISTS (SELECT 1 FROM items i WHERE i.id = item_id));
DROP POLICY IF EXISTS submitter_log ON events;
CREATE POLICY submitter_log ON events FOR INSERT TO relaunch_submitter
    WITH CHECK (EXISTS (SELECT 1 FROM items i WHERE i.id = item_id)
                AND ((from_state IS NULL AND to_state = 'queued')
                     OR (from_state = 'queued' AND to_state = 'cancelled')
                     OR (from_state = to_state AND message = 'cancel requested')));

-- A dependency is seen with the job that waits (so within the entities served). A
-- submitter adds one only to a queued job it enqueued, on an older job of the same
-- entity (the table's own check keeps them older: no cycle).
DROP POLICY IF EXISTS served ON item_deps;
CREATE POLICY served ON item_deps FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (EXISTS (SELECT 1 FROM items i WHERE i.id = item_id));
DROP POLICY IF EXISTS submitter_enqueue ON item_deps;
CREATE POLICY submitter_enqueue ON item_deps FOR INSERT TO relaunch_submitter
    WITH CHECK (EXISTS (
        SELECT 1 FROM items i JOIN queues q ON q.id = i.queue_id,
                      items a JOIN queues qa ON qa.id = a.queue_id
        WHERE i.id = item_id AND a.id = after_id AND i.state = 'queued'
          AND i.submitter = current_user AND qa.entity = q.entity
          AND relaunch_serves(q.entity)));

DROP POLICY IF EXISTS served ON agents;
CREATE POLICY served ON agents FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (relaunch_serves(entity));
DROP POLICY IF EXISTS agent_register ON agents;
CREATE POLICY agent_register ON agents FOR INSERT TO relaunch_agent
    WITH CHECK (relaunch_serves(entity));
DROP POLICY IF EXISTS agent_heartbeat ON agents;
CREATE POLICY agent_heartbeat ON agents FOR UPDATE TO relaunch_agent
    USING (relaunch_serves(entity));

-- A code tarball belongs to the entity that uploaded it: agents and submitters see
-- those of the entities they serve (submitters their entity and digest only, by the
-- column grants), nobody another entity's, whatever its jobs name. The agent reads a
-- job's tarball by its queue's entity and the digest.
DROP POLICY IF EXISTS served ON blobs;
CREATE POLICY served ON blobs FOR SELECT TO relaunch_agent, relaunch_submitter
    USING (relaunch_serves(entity));
DROP POLICY IF EXISTS submitter_digests ON blobs;  -- every digest: older versions only
-- A submitter stores tarballs of its entities only, and each must match its digest:
-- nobody can plant other bytes under the digest of code a colleague will upload
-- (the upload would then be skipped).
DROP POLICY IF EXISTS submitter_store ON blobs;
CREATE POLICY submitter_store ON blobs FOR INSERT TO relaunch_submitter
    WITH CHECK (relaunch_serves(entity)
                AND digest = 'sha256:' || encode(sha256(data), 'hex'));

-- Launch jobs belong to their entity: each role sees those of the entities it serves,
-- and a submitter writes only those. A version's code digest names a tarball of the
-- job's entity (job create stores it first, in the same transaction), as an item's
-- does: nobody makes a job of another entity's code.
DO $$
DECLARE
    rel text;
BEGIN
    FOREACH rel IN ARRAY ARRAY['launch_jobs', 'launch_job_versions', 'launch_job_aliases']
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS served ON %I', rel);
        EXECUTE format('CREATE POLICY served ON %I FOR SELECT TO relaunch_agent, '
                       'relaunch_submitter USING (relaunch_serves(entity))', rel);
        EXECUTE format('DROP POLICY IF EXISTS submitter_write ON %I', rel);
        EXECUTE format('CREATE POLICY submitter_write ON %I FOR ALL TO relaunch_submitter '
                       'USING (relaunch_serves(entity)) WITH CHECK (relaunch_serves(entity)%s)',
                       rel, CASE WHEN rel = 'launch_job_versions' THEN
                           ' AND (recipe ->> ''code'' IS NULL OR EXISTS (SELECT 1 FROM blobs b '
                           'WHERE b.entity = launch_job_versions.entity '
                           'AND b.digest = recipe ->> ''code''))' ELSE '' END);
    END LOOP;
END $$;

-- 6. What a submitter's update may do to an item of its entity: cancel a queued
-- item, or flag an active one (cancel_requested) for its agent to stop. Column
-- grants cannot say "only queued -> cancelled", so a trigger does.
CREATE OR REPLACE FUNCTION relaunch_submitter_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF pg_has_role(current_user, 'relaunch_agent', 'MEMBER')
            OR pg_has_role(current_user, 'relaunch_admin', 'MEMBER') THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'queued' AND NEW.state = 'cancelled' THEN
        RETURN NEW;
    END IF;
    IF OLD.state IN ('claimed', 'building', 'submitted', 'running')
            AND NEW.state = OLD.state AND NEW.cancel_requested
            AND NEW.lease_expires_at IS NOT DISTINCT FROM OLD.lease_expires_at
            AND NEW.finished_at IS NOT DISTINCT FROM OLD.finished_at
            AND NEW.reason IS NOT DISTINCT FROM OLD.reason THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'permission denied: a submitter may only cancel item % (%)',
        OLD.id, OLD.state USING ERRCODE = 'insufficient_privilege';
END $$;
ALTER FUNCTION relaunch_submitter_update() OWNER TO relaunch_admin;
DROP TRIGGER IF EXISTS relaunch_submitter_update ON items;
CREATE TRIGGER relaunch_submitter_update BEFORE UPDATE ON items
    FOR EACH ROW EXECUTE FUNCTION relaunch_submitter_update();

-- NOTIFY/LISTEN need no grant: enqueue's pg_notify('relaunch_enqueue', queue id)
-- and the agents' LISTEN work for every role (see docs/access.md).

COMMIT;
