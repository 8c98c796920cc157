-- Webhook deliveries, the durable job queue, runs (issue 9).

-- After a rotation the previous webhook secret still verifies deliveries for a
-- grace period (a server flag), counted from webhook_secret_rotated_at.
ALTER TABLE integrations ADD COLUMN previous_sealed_webhook_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN webhook_secret_rotated_at TEXT NOT NULL DEFAULT '';

-- One row per accepted delivery. (integration_id, request_id) is Bitbucket's
-- X-Request-UUID / X-Request-Id: a repeated delivery finds its row and adds nothing.
CREATE TABLE webhook_deliveries (
    id             TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    request_id     TEXT NOT NULL,
    event_key      TEXT NOT NULL,
    -- which webhook secret verified it: current | previous
    secret         TEXT NOT NULL,
    attempt        BIGINT NOT NULL DEFAULT 1,
    body           TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    -- '' until a worker has dispatched it
    processed_at   TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX webhook_deliveries_request ON webhook_deliveries (integration_id, request_id);

-- The outbox: a job row is written in the same transaction as what it is about
-- (a delivery to dispatch, a run whose commit status to post). Workers claim rows
-- whose run_after has come and whose lease (locked_until) has expired; '' sorts
-- before every timestamp, so it means "not leased".
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('delivery', 'status')),
    subject_id   TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_after    TEXT NOT NULL,
    locked_until TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX jobs_kind_run_after ON jobs (kind, run_after);

CREATE TABLE runs (
    id             TEXT PRIMARY KEY,
    stack_id       TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    -- The integration and repository the run's commit lives in, for its statuses.
    -- Not a foreign key: runs outlive a deleted integration.
    integration_id TEXT NOT NULL,
    namespace      TEXT NOT NULL,
    repository     TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('tracked', 'proposed')),
    commit_sha     TEXT NOT NULL,
    branch         TEXT NOT NULL,
    pull_request   BIGINT,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'finished')),
    result         TEXT NOT NULL DEFAULT '' CHECK (result IN ('', 'succeeded', 'failed', 'canceled')),
    message        TEXT NOT NULL DEFAULT '',
    -- '' for a manual trigger
    delivery_id    TEXT NOT NULL DEFAULT '',
    -- why the commit status could not be posted ('' when it was, or is pending)
    status_error   TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX runs_stack_created ON runs (stack_id, created_at, id);
CREATE INDEX runs_commit_created ON runs (commit_sha, created_at, id);
-- Dispatching a delivery twice (a worker's lease ran out) adds no second run.
CREATE UNIQUE INDEX runs_delivery_stack ON runs (delivery_id, stack_id, kind) WHERE delivery_id <> '';
