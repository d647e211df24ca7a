-- Recurring causes: a rise of a cause above its normal daily rate, sent to the owning department, and the
-- improvement actions that fix causes, with the customers told when a fix ships ("you said, we did").
CREATE TABLE cause_alerts (
    id INTEGER PRIMARY KEY,
    cause TEXT NOT NULL,
    department TEXT NOT NULL,
    window_end INTEGER NOT NULL,
    observed INTEGER NOT NULL,
    expected REAL NOT NULL,
    p_value REAL NOT NULL,
    evidence TEXT NOT NULL,
    proposed_broadcast TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_cause_alerts_day ON cause_alerts (cause, window_end);
CREATE TABLE improvement_actions (
    id INTEGER PRIMARY KEY,
    cause TEXT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at INTEGER,
    evidence_from INTEGER NOT NULL,
    evidence_to INTEGER NOT NULL,
    message TEXT,
    created_at INTEGER NOT NULL,
    shipped_at INTEGER,
    customers_told INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE improvement_notifications (
    action_id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (action_id, customer_id)
);
CREATE INDEX ix_contacts_root_cause ON contacts (root_cause, occurred_at);
