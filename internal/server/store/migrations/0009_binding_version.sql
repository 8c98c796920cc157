-- A binding's version (issue 20): opaque, new at every write through the API, served
-- as the binding's ETag, so that an update or a delete acts only on the binding its
-- caller read (If-Match) and a create never replaces a binding someone else made.
-- Bindings written before this migration get a version of their own that no later
-- write can produce (writes draw random base32 tokens, which have no '-').

ALTER TABLE stack_vcs_bindings ADD COLUMN version TEXT NOT NULL DEFAULT '';
UPDATE stack_vcs_bindings SET version = 'before-0009-' || stack_id;
