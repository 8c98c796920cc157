-- The key check value: a known text sealed with the server's secret key when the
-- database first meets a key. A server started with another key cannot open it and
-- refuses to start, instead of answering 500 on every sealed value and sealing new
-- data under the wrong key. One row; `orbit-server rekey` re-seals it with the rest.
CREATE TABLE key_check (
    id         TEXT PRIMARY KEY CHECK (id = 'secret_key'),
    -- base64 of the AES-256-GCM ciphertext, like every sealed column
    sealed     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
