-- Idempotency keys (issue 11): the answer to a create, stored under the key the
-- client chose and the API key that sent it, written in the same transaction as the
-- create. A repeat within 24 h gets the stored answer instead of a second object.
-- request_hash is an HMAC of method, path, query and body (the body may carry a
-- credential, so it is keyed); sealed_response is the answer sealed with the
-- server's secret key (it may carry a webhook secret).
CREATE TABLE idempotency_keys (
    api_key_id      TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          BIGINT NOT NULL,
    sealed_response TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
