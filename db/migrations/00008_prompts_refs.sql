-- +goose Up
-- A user's saved prompts, and refs: public share links of a text or of a
-- chat thread copied as it was when the link was made. Lengths are in
-- characters; the Go limits (internal/prompts, internal/refs) are the same.

-- +goose StatementBegin
-- prompt_tags_valid: at most 10 tags of 1-50 characters each.
CREATE FUNCTION prompt_tags_valid(tags TEXT[]) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT cardinality(tags) <= 10
       AND NOT EXISTS (SELECT 1 FROM unnest(tags) AS t(tag) WHERE t.tag IS NULL OR length(t.tag) NOT BETWEEN 1 AND 50)
$$;
-- +goose StatementEnd

CREATE TABLE prompts (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     UUID NOT NULL REFERENCES users (id),
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    content     TEXT NOT NULL CHECK (length(content) BETWEEN 1 AND 20000),
    tags        TEXT[] NOT NULL DEFAULT '{}' CHECK (prompt_tags_valid(tags)),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The list (newest first) and the per-user count of the 500 cap.
CREATE INDEX prompts_user_idx ON prompts (user_id, created_at DESC, id DESC);

-- A ref is a text (content) or a thread's snapshot (messages), never both.
-- messages holds only what the public may see: [{role, content, created_at}]
-- of the thread's user and assistant messages; tool calls and results, user
-- ids and agent_context are never copied in. source_thread_id is shown to the
-- owner only. A deleted ref keeps its row as a tombstone with its content
-- erased, so its slug is never handed out again and an old link can never
-- show someone else's text.
CREATE TABLE refs (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    slug              TEXT NOT NULL CHECK (slug ~ '^[a-z0-9-]{3,64}$'),
    user_id           UUID NOT NULL REFERENCES users (id),
    title             TEXT NOT NULL CHECK (length(title) <= 200),
    content           TEXT CHECK (length(content) BETWEEN 1 AND 100000),
    messages          JSONB CHECK (jsonb_typeof(messages) = 'array'),
    source_thread_id  UUID REFERENCES chat_threads (id) ON DELETE SET NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at        TIMESTAMPTZ,
    CONSTRAINT refs_slug_key UNIQUE (slug),
    CONSTRAINT refs_text_or_thread CHECK (
        CASE WHEN deleted_at IS NULL THEN (content IS NULL) <> (messages IS NULL) AND length(title) >= 1
             ELSE content IS NULL AND messages IS NULL AND source_thread_id IS NULL END)
);
-- The owner's list (newest first) and the per-user count of the 1,000 cap.
CREATE INDEX refs_user_idx ON refs (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- +goose Down
DROP TABLE refs;
DROP TABLE prompts;
DROP FUNCTION prompt_tags_valid(TEXT[]);
