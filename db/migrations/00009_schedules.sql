-- +goose Up
-- Scheduled chat runs: each schedule row is the desired state of one Temporal
-- Schedule (chat-schedule-<id>); each run is one ChatRunWorkflow (or one
-- action Temporal skipped because the previous run still ran).

-- The row is the truth and Temporal follows it: every change bumps version,
-- and whoever applies the row to Temporal (the API right after its commit, or
-- the worker's reconciler when that failed) sets synced_version to the
-- version it applied. A row with synced_version < version is pending. The
-- applier holds a short lease instead of a lock while it calls Temporal.
CREATE TABLE chat_schedules (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           UUID NOT NULL REFERENCES users (id),
    title             TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    prompt            TEXT NOT NULL CHECK (length(prompt) BETWEEN 1 AND 20000),
    system_prompt     TEXT CHECK (length(system_prompt) <= 20000),
    cron              TEXT CHECK (length(cron) <= 100),
    interval_seconds  INT CHECK (interval_seconds > 0),
    timezone          TEXT NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
    tracer_id         TEXT NOT NULL CHECK (length(tracer_id) BETWEEN 1 AND 100),
    project_id        TEXT CHECK (length(project_id) BETWEEN 1 AND 100),
    include_apps      TEXT[] NOT NULL DEFAULT '{}' CHECK (cardinality(include_apps) <= 50),
    paused            BOOLEAN NOT NULL DEFAULT FALSE,
    -- Temporal sync (see above). deleted_at: deletion asked for; the row is
    -- hidden from the API and removed once the Temporal Schedule is gone.
    version           BIGINT NOT NULL DEFAULT 1,
    synced_version    BIGINT NOT NULL DEFAULT 0,
    deleted_at        TIMESTAMPTZ,
    sync_lease_until  TIMESTAMPTZ,
    sync_attempts     INT NOT NULL DEFAULT 0,
    sync_next_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    sync_error        TEXT,
    -- Temporal's count of actions it skipped for overlap that have a
    -- 'skipped' run row already.
    skips_recorded    INT NOT NULL DEFAULT 0 CHECK (skips_recorded >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT chat_schedules_one_timing CHECK ((cron IS NULL) <> (interval_seconds IS NULL))
);
CREATE INDEX chat_schedules_user_idx ON chat_schedules (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX chat_schedules_pending_idx ON chat_schedules (sync_next_at) WHERE synced_version < version;

-- Runs outlive their schedule (no foreign key to it): a tracer's timeline
-- keeps them after the schedule is deleted.
CREATE TABLE chat_schedule_runs (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    schedule_id       UUID NOT NULL,
    user_id           UUID NOT NULL REFERENCES users (id),
    -- The ChatRunWorkflow's id, or skip-<schedule_id>-<n> for the n-th action
    -- Temporal skipped: a retried activity finds its run instead of adding one.
    run_key           TEXT NOT NULL UNIQUE CHECK (length(run_key) <= 300),
    tracer_id         TEXT NOT NULL,
    project_id        TEXT,
    title             TEXT NOT NULL,
    thread_id         UUID REFERENCES chat_threads (id) ON DELETE SET NULL,
    status            TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'skipped')),
    error             TEXT CHECK (length(error) <= 2000),
    input_tokens      BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens     BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    -- Set when the agent's answer is saved, so a retry after that returns it
    -- instead of asking the model again.
    reply_message_id  UUID,
    reply_excerpt     TEXT,
    finish_reason     TEXT,
    started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ
);
CREATE INDEX chat_schedule_runs_schedule_idx ON chat_schedule_runs (schedule_id, started_at DESC, id DESC);
CREATE INDEX chat_schedule_runs_tracer_idx ON chat_schedule_runs (user_id, tracer_id, started_at);

-- Platform messages (a scheduled run's answer) have no app: app_id and
-- install_id are NULL, and they are sent once per user and external id.
ALTER TABLE inbox_messages ALTER COLUMN app_id DROP NOT NULL;
CREATE UNIQUE INDEX inbox_messages_platform_once ON inbox_messages (user_id, external_id) WHERE app_id IS NULL;

-- +goose Down
DELETE FROM inbox_messages WHERE app_id IS NULL;
DROP INDEX inbox_messages_platform_once;
ALTER TABLE inbox_messages ALTER COLUMN app_id SET NOT NULL;
DROP TABLE chat_schedule_runs;
DROP TABLE chat_schedules;
