-- VCS agent pools (issue 26): a pool groups the agents that carry orbit-server's
-- Bitbucket calls for the Data Center integrations whose api_host is
-- private://<name>. Names are unique across the server, since api_host names the
-- pool by name alone.
CREATE TABLE vcs_agent_pools (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    space_id    TEXT NOT NULL REFERENCES spaces (id),
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX vcs_agent_pools_name ON vcs_agent_pools (name);
CREATE INDEX vcs_agent_pools_space_id ON vcs_agent_pools (space_id);

-- A pool's tokens: what an agent presents to connect. Only the SHA-256 (hex) of the
-- token's secret part is kept. expires_at ('' = never) is set on the token a
-- rotation replaced: the end of its grace period.
CREATE TABLE vcs_agent_pool_tokens (
    id          TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL REFERENCES vcs_agent_pools (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vcs_agent_pool_tokens_pool_id ON vcs_agent_pool_tokens (pool_id, created_at);
