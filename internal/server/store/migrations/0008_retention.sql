-- Retention (issue 21): orbit-server prunes in small batches, oldest first. These
-- indexes let each batch find its rows without reading the ones it keeps.

-- Deliveries whose body is still stored, by age: the body pruner reads only these
-- (bodies already dropped, stored as '', leave the index).
CREATE INDEX webhook_deliveries_body_received ON webhook_deliveries (received_at) WHERE body <> '';
-- Every delivery by age: the row pruner.
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
-- Finished runs by the time they finished (updated_at): the run pruner.
CREATE INDEX runs_finished_updated ON runs (updated_at) WHERE state = 'finished';
-- The jobs of one subject (a run's status job): a run with a job waiting is kept.
CREATE INDEX jobs_subject ON jobs (subject_id);
