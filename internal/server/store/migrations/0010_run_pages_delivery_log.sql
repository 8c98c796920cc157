-- Run pages and the delivery log (issue 22).

-- The capability link of a run's page: one per run. The link's secret part is
-- derived by the server from its secret key and nonce (so a status post can
-- rebuild it); the store keeps only its SHA-256 (hex), to find the run by a link,
-- and revoked_at ('' = live) to refuse a revoked one. A new link replaces nonce
-- and hash in place.
CREATE TABLE run_page_links (
    run_id     TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    nonce      TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX run_page_links_token ON run_page_links (token_hash);

-- What dispatch decided, as a code (runs_started, no_binding, branch_not_tracked,
-- head_unchanged, event_ignored, duplicate; '' while pending), and the repository
-- the event named, for the delivery log's filters.
ALTER TABLE webhook_deliveries ADD COLUMN decision TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN namespace TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN repository TEXT NOT NULL DEFAULT '';
-- A redelivery (POST .../deliveries/{id}/redeliver) is a new entry pointing to the
-- original delivery (never to another redelivery) and naming the API key that asked.
ALTER TABLE webhook_deliveries ADD COLUMN redelivery_of TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (integration_id, received_at, id);
