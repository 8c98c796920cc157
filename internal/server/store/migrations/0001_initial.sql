-- The first schema of orbit-server. Portable SQL: it runs unchanged on SQLite and
-- PostgreSQL. Timestamps are TEXT in RFC 3339 UTC written by the store; sealed
-- secrets are base64 TEXT; booleans are BOOLEAN (0/1 in SQLite).

CREATE TABLE spaces (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    -- NULL only for root.
    parent_space_id  TEXT REFERENCES spaces (id),
    inherit_entities BOOLEAN NOT NULL DEFAULT FALSE,
    description      TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((id = 'root') = (parent_space_id IS NULL))
);
CREATE INDEX spaces_parent_space_id ON spaces (parent_space_id);
CREATE INDEX spaces_name_id ON spaces (name, id);

CREATE TABLE space_labels (
    space_id TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    label    TEXT NOT NULL,
    PRIMARY KEY (space_id, label)
);
CREATE INDEX space_labels_label ON space_labels (label);

-- Stamped by the database clock: no portable SQL writes RFC 3339, so the store
-- also reads the plain "YYYY-MM-DD HH:MM:SS" form CURRENT_TIMESTAMP yields.
INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
VALUES ('root', 'root', NULL, FALSE, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- hex of SHA-256 of the key's secret part
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_key_roles (
    api_key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    -- A grant on a space goes with the space.
    space_id   TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    PRIMARY KEY (api_key_id, space_id)
);
CREATE INDEX api_key_roles_space_id ON api_key_roles (space_id);

CREATE TABLE stacks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    space_id    TEXT NOT NULL REFERENCES spaces (id),
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX stacks_space_id ON stacks (space_id);
CREATE INDEX stacks_name_id ON stacks (name, id);

CREATE TABLE stack_labels (
    stack_id TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    label    TEXT NOT NULL,
    PRIMARY KEY (stack_id, label)
);
CREATE INDEX stack_labels_label ON stack_labels (label);

CREATE TABLE integrations (
    id                    TEXT PRIMARY KEY,
    provider              TEXT NOT NULL CHECK (provider IN ('bitbucket_cloud', 'bitbucket_datacenter')),
    name                  TEXT NOT NULL,
    is_default            BOOLEAN NOT NULL DEFAULT FALSE,
    space_id              TEXT NOT NULL REFERENCES spaces (id),
    description           TEXT NOT NULL DEFAULT '',
    vcs_checks            TEXT NOT NULL DEFAULT 'individual',
    email                 TEXT NOT NULL DEFAULT '',
    username              TEXT NOT NULL DEFAULT '',
    auth_method           TEXT NOT NULL DEFAULT '',
    api_host              TEXT NOT NULL DEFAULT '',
    user_facing_host      TEXT NOT NULL DEFAULT '',
    use_git_checkout      BOOLEAN NOT NULL DEFAULT FALSE,
    -- base64 of AES-256-GCM ciphertexts sealed by the server
    sealed_credential     TEXT NOT NULL DEFAULT '',
    sealed_webhook_secret TEXT NOT NULL DEFAULT '',
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    -- A default integration lives in root.
    CHECK (NOT is_default OR space_id = 'root')
);
-- The name is part of the webhook URL, so it is unique per provider.
CREATE UNIQUE INDEX integrations_provider_name ON integrations (provider, name);
-- At most one default per provider.
CREATE UNIQUE INDEX integrations_provider_default ON integrations (provider) WHERE is_default;
CREATE INDEX integrations_space_id ON integrations (space_id);
CREATE INDEX integrations_name_id ON integrations (name, id);

CREATE TABLE integration_labels (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    label          TEXT NOT NULL,
    PRIMARY KEY (integration_id, label)
);
CREATE INDEX integration_labels_label ON integration_labels (label);
