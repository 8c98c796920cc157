-- Monorepos (issue 25): a binding's additional project globs (a JSON array of
-- strings, '[]' for none), and why a run started: the changed paths that matched its
-- stack, or why the changed paths could not be listed.
ALTER TABLE stack_vcs_bindings ADD COLUMN additional_project_globs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN trigger_reason TEXT NOT NULL DEFAULT '';
