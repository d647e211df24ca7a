-- Labelled examples the root-cause classifier learns from: imported, posted, or confirmed by supervisors when
-- they resolve an alert. Kept so that every process (and every restart) trains the same model.
CREATE TABLE training_examples (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    cause TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_responses_root_cause ON responses (root_cause, responded_at);
