-- Survey definitions (SurveyJS JSON, so a standard designer and renderer work with them). At most one per metric
-- is the default that invitations without a survey use; without one the built-in default of the metric is used.
-- An invitation keeps the answers that are neither the score nor the comment.
CREATE TABLE surveys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    metric TEXT NOT NULL,
    definition TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT
);
CREATE UNIQUE INDEX ux_surveys_default ON surveys (metric) WHERE is_default = 1;
ALTER TABLE survey_invitations ADD COLUMN answers TEXT;
