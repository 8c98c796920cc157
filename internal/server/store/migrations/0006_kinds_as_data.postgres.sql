-- The VCS kind of an integration (and of a binding) is data: which kinds exist is
-- the server's registry (internal/server/vcs), not the schema. Drop the CHECKs
-- that listed the Bitbucket kinds (PostgreSQL named them <table>_<column>_check).
ALTER TABLE integrations DROP CONSTRAINT IF EXISTS integrations_provider_check;
ALTER TABLE stack_vcs_bindings DROP CONSTRAINT IF EXISTS stack_vcs_bindings_provider_check;
