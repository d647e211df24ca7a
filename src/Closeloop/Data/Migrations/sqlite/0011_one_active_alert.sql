-- "The same customer never gets two open alerts about the same thing": the database now holds that rule itself, for
-- the races the code alone can't close on PostgreSQL (a reopen beside an ingest that raises the same alert, or two
-- processes raising it at once). A duplicate that such a race already made is folded into the older alert: its
-- matches are counted there, its log says so, and it is closed with the older one named as its outcome.
INSERT INTO alert_actions (alert_id, type, actor, at, data)
SELECT d.id, 'note', 'system', CAST(strftime('%s','now') AS INTEGER) * 1000,
       '{"text":"Closed as a duplicate of alert #' || (SELECT MIN(o.id) FROM alerts o WHERE o.customer_id = d.customer_id AND o.rule_id = d.rule_id AND o.site_id = d.site_id
                                                   AND o.status IN ('open', 'acknowledged', 'waiting_on_customer')) || ' (migration 0011)."}'
FROM alerts d
WHERE d.status IN ('open', 'acknowledged', 'waiting_on_customer')
  AND EXISTS (SELECT 1 FROM alerts o WHERE o.customer_id = d.customer_id AND o.rule_id = d.rule_id AND o.site_id = d.site_id
              AND o.status IN ('open', 'acknowledged', 'waiting_on_customer') AND o.id < d.id);
UPDATE alerts SET matches = matches + (
    SELECT COALESCE(SUM(d.matches), 0) FROM alerts d
    WHERE d.customer_id = alerts.customer_id AND d.rule_id = alerts.rule_id AND d.site_id = alerts.site_id
      AND d.status IN ('open', 'acknowledged', 'waiting_on_customer') AND d.id > alerts.id), version = version + 1
WHERE status IN ('open', 'acknowledged', 'waiting_on_customer')
  AND NOT EXISTS (SELECT 1 FROM alerts o WHERE o.customer_id = alerts.customer_id AND o.rule_id = alerts.rule_id AND o.site_id = alerts.site_id
                  AND o.status IN ('open', 'acknowledged', 'waiting_on_customer') AND o.id < alerts.id)
  AND EXISTS (SELECT 1 FROM alerts d WHERE d.customer_id = alerts.customer_id AND d.rule_id = alerts.rule_id AND d.site_id = alerts.site_id
              AND d.status IN ('open', 'acknowledged', 'waiting_on_customer') AND d.id > alerts.id);
UPDATE alerts SET status = 'closed', closed_at = CAST(strftime('%s','now') AS INTEGER) * 1000, version = version + 1,
    outcome = 'Duplicate of alert #' || (SELECT MIN(o.id) FROM alerts o WHERE o.customer_id = alerts.customer_id AND o.rule_id = alerts.rule_id
                                         AND o.site_id = alerts.site_id AND o.status IN ('open', 'acknowledged', 'waiting_on_customer'))
WHERE status IN ('open', 'acknowledged', 'waiting_on_customer')
  AND EXISTS (SELECT 1 FROM alerts o WHERE o.customer_id = alerts.customer_id AND o.rule_id = alerts.rule_id AND o.site_id = alerts.site_id
              AND o.status IN ('open', 'acknowledged', 'waiting_on_customer') AND o.id < alerts.id);
CREATE UNIQUE INDEX ux_alerts_active ON alerts (customer_id, rule_id, site_id) WHERE status IN ('open', 'acknowledged', 'waiting_on_customer');
