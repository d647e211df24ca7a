-- Root-cause counts per UTC day, site, metric and cause ('' = no cause), with the top and bottom counts the
-- drivers report needs, kept in the ingest transaction beside response_rollups; a cause confirmed by a person on
-- an alert moves its response's count in the same transaction (CauseRollup.MoveAsync). The Pareto, trend and
-- drivers reports read them for whole days instead of scanning a year of responses; their size follows the
-- taxonomy, not the volume.
CREATE TABLE cause_rollups (
    day INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    root_cause TEXT NOT NULL,
    n INTEGER NOT NULL,
    top INTEGER NOT NULL,
    bottom INTEGER NOT NULL,
    PRIMARY KEY (day, site_id, metric, root_cause)
) WITHOUT ROWID;
-- The responses stored before this table existed; top and bottom as in MetricScales.IsTop/IsBottom.
INSERT INTO cause_rollups (day, site_id, metric, root_cause, n, top, bottom)
SELECT responded_at / 86400000, site_id, metric, COALESCE(root_cause, ''), COUNT(*),
    SUM(CASE WHEN (metric = 'csat' AND score >= 4) OR (metric = 'nps' AND score >= 9) OR (metric = 'ces' AND score >= 5) THEN 1 ELSE 0 END),
    SUM(CASE WHEN (metric = 'csat' AND score <= 2) OR (metric = 'nps' AND score <= 6) OR (metric = 'ces' AND score <= 3) THEN 1 ELSE 0 END)
FROM responses
GROUP BY responded_at / 86400000, site_id, metric, COALESCE(root_cause, '');
