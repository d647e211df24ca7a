-- Recurring causes: a rise of a cause above its normal daily rate, sent to the owning department (at most one
-- cause alert per cause and UTC day, so several processes sweeping at once raise it once), the improvement
-- actions that fix causes, the customers told when a fix ships ("you said, we did"), and department digests.
CREATE TABLE cause_alerts (
    id INTEGER PRIMARY KEY,
    cause TEXT NOT NULL,
    department TEXT NOT NULL,
    day INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    observed INTEGER NOT NULL,
    expected REAL NOT NULL,
    p_value REAL NOT NULL,
    evidence TEXT NOT NULL,
    proposed_broadcast TEXT NOT NULL,
    status TEXT NOT NULL,
    acknowledged_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_cause_alerts_day ON cause_alerts (cause, day);
CREATE INDEX ix_cause_alerts_department ON cause_alerts (department, created_at);
CREATE TABLE improvement_actions (
    id INTEGER PRIMARY KEY,
    cause TEXT NOT NULL,
    department TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at INTEGER,
    evidence_from INTEGER NOT NULL,
    evidence_to INTEGER NOT NULL,
    cause_alert_id INTEGER,
    message TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    shipped_at INTEGER,
    customers_told INTEGER NOT NULL DEFAULT 0,
    customers_skipped INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_improvement_actions_cause ON improvement_actions (cause, status);
CREATE TABLE improvement_notifications (
    action_id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    channel TEXT,
    outcome TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (action_id, customer_id)
);
CREATE TABLE department_digests (
    department TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    recipients INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (department, period_start)
);
CREATE INDEX ix_contacts_root_cause ON contacts (root_cause, occurred_at);
