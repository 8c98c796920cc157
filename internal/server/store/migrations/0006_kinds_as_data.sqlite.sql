-- orbit:foreign-keys-off
-- The VCS kind of an integration (and of a binding) is data: which kinds exist is
-- the server's registry (internal/server/vcs), not the schema. SQLite cannot drop
-- a CHECK, so both tables are rebuilt without the one that listed the Bitbucket
-- kinds (SQLite's documented procedure: foreign keys off for the rebuild, checked
-- with foreign_key_check before the commit; see sqlstore.Migrate).

CREATE TABLE integrations_new (
    id                             TEXT PRIMARY KEY,
    provider                       TEXT NOT NULL,
    name                           TEXT NOT NULL,
    is_default                     BOOLEAN NOT NULL DEFAULT FALSE,
    space_id                       TEXT NOT NULL REFERENCES spaces (id),
    description                    TEXT NOT NULL DEFAULT '',
    vcs_checks                     TEXT NOT NULL DEFAULT 'individual',
    email                          TEXT NOT NULL DEFAULT '',
    username                       TEXT NOT NULL DEFAULT '',
    auth_method                    TEXT NOT NULL DEFAULT '',
    api_host                       TEXT NOT NULL DEFAULT '',
    user_facing_host               TEXT NOT NULL DEFAULT '',
    use_git_checkout               BOOLEAN NOT NULL DEFAULT FALSE,
    sealed_credential              TEXT NOT NULL DEFAULT '',
    sealed_webhook_secret          TEXT NOT NULL DEFAULT '',
    created_at                     TEXT NOT NULL,
    updated_at                     TEXT NOT NULL,
    previous_sealed_webhook_secret TEXT NOT NULL DEFAULT '',
    webhook_secret_rotated_at      TEXT NOT NULL DEFAULT '',
    CHECK (NOT is_default OR space_id = 'root')
);
INSERT INTO integrations_new (id, provider, name, is_default, space_id, description, vcs_checks, email,
    username, auth_method, api_host, user_facing_host, use_git_checkout, sealed_credential,
    sealed_webhook_secret, created_at, updated_at, previous_sealed_webhook_secret, webhook_secret_rotated_at)
SELECT id, provider, name, is_default, space_id, description, vcs_checks, email,
    username, auth_method, api_host, user_facing_host, use_git_checkout, sealed_credential,
    sealed_webhook_secret, created_at, updated_at, previous_sealed_webhook_secret, webhook_secret_rotated_at
FROM integrations;
DROP TABLE integrations;
ALTER TABLE integrations_new RENAME TO integrations;
CREATE UNIQUE INDEX integrations_provider_name ON integrations (provider, name);
CREATE UNIQUE INDEX integrations_provider_default ON integrations (provider) WHERE is_default;
CREATE INDEX integrations_space_id ON integrations (space_id);
CREATE INDEX integrations_name_id ON integrations (name, id);

CREATE TABLE stack_vcs_bindings_new (
    stack_id          TEXT PRIMARY KEY REFERENCES stacks (id) ON DELETE CASCADE,
    integration_id    TEXT NOT NULL,
    provider          TEXT NOT NULL,
    namespace         TEXT NOT NULL,
    repository        TEXT NOT NULL,
    branch            TEXT NOT NULL,
    project_root      TEXT NOT NULL DEFAULT '',
    pull_request_runs BOOLEAN NOT NULL DEFAULT TRUE,
    status            TEXT NOT NULL CHECK (status IN ('attached', 'detached')),
    detached_reason   TEXT NOT NULL DEFAULT '',
    detached_host     TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
INSERT INTO stack_vcs_bindings_new (stack_id, integration_id, provider, namespace, repository, branch,
    project_root, pull_request_runs, status, detached_reason, detached_host, created_at, updated_at)
SELECT stack_id, integration_id, provider, namespace, repository, branch,
    project_root, pull_request_runs, status, detached_reason, detached_host, created_at, updated_at
FROM stack_vcs_bindings;
DROP TABLE stack_vcs_bindings;
ALTER TABLE stack_vcs_bindings_new RENAME TO stack_vcs_bindings;
CREATE INDEX stack_vcs_bindings_integration_id ON stack_vcs_bindings (integration_id);
CREATE INDEX stack_vcs_bindings_repository ON stack_vcs_bindings (integration_id, namespace, repository);
