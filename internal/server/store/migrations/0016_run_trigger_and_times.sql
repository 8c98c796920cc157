-- Run pages (issue 22): who or what triggered a run and the title of its pull
-- request, taken from the delivery when it is dispatched (so they outlive the
-- delivery body's retention) or from the API key of a manual trigger; and the
-- time of each state: started_at when a runner reported it started (state
-- running), finished_at when it finished ('' = not yet). Runs finished before
-- this version take updated_at, the time they finished.
ALTER TABLE runs ADD COLUMN triggered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pull_request_title TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN started_at TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN finished_at TEXT NOT NULL DEFAULT '';
UPDATE runs SET finished_at = updated_at WHERE state = 'finished';
