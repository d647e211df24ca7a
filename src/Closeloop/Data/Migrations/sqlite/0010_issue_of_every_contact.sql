-- A contact without a reason is an issue of its own for FCR. It used to be counted in the FCR rollups without an
-- issue row, so the records behind the figure (GET /api/v1/metrics/records?metric=fcr) missed it. Each such contact
-- now gets its issue, with an empty reason, which no contact chains to. The contact's id marks its issue until the
-- contact points at it.
INSERT INTO issues (customer_id, reason, first_at, last_at, contact_count, first_resolved, day, site_id, team_id, agent_id, channel)
SELECT customer_id, 'closeloop-0010:' || id, occurred_at, occurred_at, 1, resolved, occurred_at / 86400000, site_id, team_id, agent_id, channel
FROM contacts WHERE issue_id IS NULL;
UPDATE contacts SET issue_id = (SELECT i.id FROM issues i WHERE i.customer_id = contacts.customer_id AND i.reason = 'closeloop-0010:' || contacts.id)
WHERE issue_id IS NULL;
UPDATE issues SET reason = '' WHERE reason LIKE 'closeloop-0010:%';
