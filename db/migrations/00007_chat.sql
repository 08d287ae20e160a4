-- +goose Up
-- The AI chat agent: threads, their messages, the per-user stream slots and
-- the daily model-token budget (chat streams and scheduled runs together).

CREATE TABLE chat_threads (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        UUID NOT NULL REFERENCES users (id),
    title          TEXT NOT NULL CHECK (length(title) <= 200),
    project_id     TEXT CHECK (length(project_id) <= 100),
    tracer_id      TEXT CHECK (length(tracer_id) <= 100),
    message_count  INT NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX chat_threads_user_idx ON chat_threads (user_id, created_at DESC, id DESC);
CREATE INDEX chat_threads_tracer_idx ON chat_threads (user_id, tracer_id, created_at DESC) WHERE tracer_id IS NOT NULL;
CREATE INDEX chat_threads_project_idx ON chat_threads (user_id, project_id, created_at DESC) WHERE project_id IS NOT NULL;

-- Messages in the order they completed (seq). Tool calls keep the model's
-- {{agent_context.KEY}} placeholders: credential values are never stored here.
CREATE TABLE chat_messages (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    thread_id      UUID NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    role           TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content        TEXT NOT NULL,
    tool_calls     JSONB,           -- assistant: [{id, name, arguments}]
    tool_call_id   TEXT,            -- tool: the call it answers
    input_tokens   BIGINT CHECK (input_tokens >= 0),   -- assistant: the model call's usage
    output_tokens  BIGINT CHECK (output_tokens >= 0),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_thread_idx ON chat_messages (thread_id, seq);

-- A user's open streams: one row per slot in use, so every officex serve
-- process counts the same streams. A lease outlives the longest turn, so a
-- process that dies mid-stream frees its slot when the lease expires.
CREATE TABLE chat_stream_slots (
    user_id     UUID NOT NULL REFERENCES users (id),
    slot        SMALLINT NOT NULL CHECK (slot >= 0),
    stream_id   UUID NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, slot)
);

-- Model tokens (input + output) a user spent on a UTC day.
CREATE TABLE chat_token_usage (
    user_id  UUID NOT NULL REFERENCES users (id),
    day      DATE NOT NULL,
    tokens   BIGINT NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    PRIMARY KEY (user_id, day)
);

-- +goose Down
DROP TABLE chat_token_usage;
DROP TABLE chat_stream_slots;
DROP TABLE chat_messages;
DROP TABLE chat_threads;
