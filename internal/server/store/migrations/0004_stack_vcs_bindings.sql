-- Stack VCS bindings (issue 8): a stack tracks one repository and one branch through
-- one integration. Deleting the integration detaches its bindings instead of
-- deleting them, so integration_id has no foreign key: a detached binding keeps the
-- id of the integration it lost, and detached_host the user-facing host it had, so
-- that its repository URL still reads well.

CREATE TABLE stack_vcs_bindings (
    stack_id          TEXT PRIMARY KEY REFERENCES stacks (id) ON DELETE CASCADE,
    integration_id    TEXT NOT NULL,
    provider          TEXT NOT NULL CHECK (provider IN ('bitbucket_cloud', 'bitbucket_datacenter')),
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
CREATE INDEX stack_vcs_bindings_integration_id ON stack_vcs_bindings (integration_id);
-- The webhook dispatcher looks bindings up by repository.
CREATE INDEX stack_vcs_bindings_repository ON stack_vcs_bindings (integration_id, namespace, repository);
