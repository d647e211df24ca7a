-- Service recovery: people, owners, rules, alerts and their append-only log, the taxonomy, the outbox,
-- webhook subscriptions and survey invitations.
ALTER TABLE sites ADD COLUMN manager_user_id INTEGER;
ALTER TABLE sites ADD COLUMN business_hours TEXT;
ALTER TABLE sites ADD COLUMN holidays TEXT;
ALTER TABLE teams ADD COLUMN supervisor_user_id INTEGER;
ALTER TABLE contacts ADD COLUMN repeat_gap_ms INTEGER;
ALTER TABLE customers ADD COLUMN callback_window TEXT;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    site_id INTEGER,
    team_id INTEGER,
    department TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE pool_members (
    pool TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (pool, user_id)
);
CREATE TABLE root_causes (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent TEXT,
    department TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    rule_id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    clock TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    first_due_at INTEGER NOT NULL,
    warned_level INTEGER NOT NULL DEFAULT -1,
    breach_notified_level INTEGER NOT NULL DEFAULT -1,
    paused_at INTEGER,
    remaining_ms INTEGER,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    matches INTEGER NOT NULL DEFAULT 1,
    acted_at INTEGER,
    reached_at INTEGER,
    resolved_at INTEGER,
    closed_at INTEGER,
    customer_told_at INTEGER,
    root_cause TEXT,
    outcome TEXT,
    followup_score INTEGER,
    followup_metric TEXT,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_alerts_open ON alerts (customer_id, rule_id, status);
CREATE INDEX ix_alerts_due ON alerts (status, due_at);
CREATE INDEX ix_alerts_site_created ON alerts (site_id, created_at);
CREATE INDEX ix_alerts_owner ON alerts (owner, status);
CREATE TABLE alert_actions (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    data TEXT
);
CREATE INDEX ix_alert_actions_alert ON alert_actions (alert_id, id);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    event TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    alert_id INTEGER,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    last_error TEXT,
    claimed_by TEXT,
    claimed_until INTEGER
);
CREATE INDEX ix_outbox_due ON outbox (sent_at, next_attempt_at);
CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    site_id INTEGER,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE TABLE survey_invitations (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL,
    contact_id INTEGER,
    alert_id INTEGER,
    survey_id INTEGER,
    metric TEXT NOT NULL,
    channel TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    sent_at INTEGER,
    opened_at INTEGER,
    answered_at INTEGER,
    response_id INTEGER
);
CREATE INDEX ix_invitations_customer ON survey_invitations (customer_id, created_at);

INSERT INTO root_causes (code, name, parent, department, created_at) VALUES
 ('process', 'Process', NULL, 'Operations', 0),
 ('process.long-wait', 'Long queue wait', 'process', 'Operations', 0),
 ('process.transfers', 'Transferred too many times', 'process', 'Operations', 0),
 ('process.no-callback', 'Promised callback not made', 'process', 'Operations', 0),
 ('knowledge', 'Knowledge', NULL, 'Training', 0),
 ('knowledge.agent-lacked-info', 'Agent lacked information', 'knowledge', 'Training', 0),
 ('knowledge.wrong-answer', 'Wrong information given', 'knowledge', 'Training', 0),
 ('knowledge.kb-gap', 'Knowledge base gap', 'knowledge', 'Knowledge Management', 0),
 ('people', 'People', NULL, 'Training', 0),
 ('people.agent-attitude', 'Agent attitude', 'people', 'Training', 0),
 ('product', 'Product', NULL, 'Product', 0),
 ('product.defect', 'Defect', 'product', 'Product', 0),
 ('product.missing-feature', 'Missing feature', 'product', 'Product', 0),
 ('policy', 'Policy', NULL, 'Billing', 0),
 ('policy.refund-rules', 'Refund rules', 'policy', 'Billing', 0),
 ('billing', 'Billing', NULL, 'Billing', 0),
 ('billing.incorrect-charge', 'Incorrect charge', 'billing', 'Billing', 0),
 ('billing.fees', 'Unexpected fees', 'billing', 'Billing', 0),
 ('logistics', 'Logistics', NULL, 'Logistics', 0),
 ('logistics.late-delivery', 'Late delivery', 'logistics', 'Logistics', 0),
 ('logistics.lost-item', 'Lost or damaged item', 'logistics', 'Logistics', 0),
 ('channel', 'Channel', NULL, 'Operations', 0),
 ('channel.ivr-maze', 'IVR maze', 'channel', 'Operations', 0),
 ('channel.digital-self-service', 'App or website problem', 'channel', 'Product', 0),
 ('routing', 'Routing', NULL, 'Operations', 0),
 ('routing.wrong-queue', 'Routed to the wrong team', 'routing', 'Operations', 0);
