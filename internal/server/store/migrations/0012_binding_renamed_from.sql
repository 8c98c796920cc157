-- Repository renames (issue 20 item 8): when Bitbucket reports that a bound repository
-- was renamed or moved (Cloud repo:updated, Data Center repo:modified), the binding
-- takes the new namespace and slug and keeps the name it had before, so that the API
-- shows the rename and a repository webhook managed under the old name can follow it.
-- '' for a binding no rename has touched (or written through the API since).
-- repository_id is the repository's stable id (Cloud {uuid}, Data Center numeric id),
-- learnt from the deliveries that name the repository (a push), so that a rename is
-- matched by id even when orbit missed an earlier one; '' until learnt, and again
-- after an API write that names another repository.
ALTER TABLE stack_vcs_bindings ADD COLUMN renamed_from_namespace TEXT NOT NULL DEFAULT '';
ALTER TABLE stack_vcs_bindings ADD COLUMN renamed_from_repository TEXT NOT NULL DEFAULT '';
ALTER TABLE stack_vcs_bindings ADD COLUMN repository_id TEXT NOT NULL DEFAULT '';
