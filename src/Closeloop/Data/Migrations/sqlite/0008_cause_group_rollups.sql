-- Root-cause counts per grouping the Pareto report offers beyond the site: dim 'team', 'agent' or 'channel', then
-- the UTC day, the site (for site-scoped callers) and the group's key as the report shows it (the team's or agent's
-- id, or the channel). Only responses with a cause are counted. The ingest writer keeps them beside cause_rollups,
-- and a cause confirmed by a person moves the count (CauseRollup.MoveAsync). Their size is bounded by the groups
-- times the taxonomy per day, not by the volume.
CREATE TABLE cause_group_rollups (
    dim TEXT NOT NULL,
    day INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    root_cause TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (dim, day, site_id, group_key, root_cause)
) WITHOUT ROWID;
-- The responses stored before this table existed.
INSERT INTO cause_group_rollups (dim, day, site_id, group_key, root_cause, n)
SELECT 'team', responded_at / 86400000, site_id, CAST(team_id AS TEXT), root_cause, COUNT(*) FROM responses
WHERE root_cause IS NOT NULL GROUP BY responded_at / 86400000, site_id, team_id, root_cause;
INSERT INTO cause_group_rollups (dim, day, site_id, group_key, root_cause, n)
SELECT 'agent', responded_at / 86400000, site_id, CAST(agent_id AS TEXT), root_cause, COUNT(*) FROM responses
WHERE root_cause IS NOT NULL GROUP BY responded_at / 86400000, site_id, agent_id, root_cause;
INSERT INTO cause_group_rollups (dim, day, site_id, group_key, root_cause, n)
SELECT 'channel', responded_at / 86400000, site_id, channel, root_cause, COUNT(*) FROM responses
WHERE root_cause IS NOT NULL GROUP BY responded_at / 86400000, site_id, channel, root_cause;
