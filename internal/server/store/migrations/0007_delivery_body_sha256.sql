-- Replay protection (issue 19). Bitbucket signs the body only, with no timestamp,
-- so a signed delivery seen once can be sent again with any request id: the body
-- itself is the key. body_sha256 is the hex SHA-256 of the raw body; a second
-- delivery of the same body under the same event key to the same integration
-- finds the first one's row (for as long as the row is kept) and adds nothing.
-- The event key is part of the key because Bitbucket sends some events of one
-- repository with identical bodies (Cloud repo:created, repo:deleted and
-- repo:imported carry only the repository and the actor). Rows stored before this
-- migration have '' and take no part.
ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX webhook_deliveries_body ON webhook_deliveries (integration_id, event_key, body_sha256) WHERE body_sha256 <> '';
