-- Web console: notes and preferences that agents write about a customer (kept with who wrote them and when),
-- broadcasts to agents with their read receipts, and the keys that protect the console's cookies, so that
-- several processes behind a load balancer accept each other's sessions.
CREATE TABLE customer_notes (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    site_id INTEGER,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_by TEXT,
    updated_at INTEGER
);
CREATE INDEX ix_customer_notes_customer ON customer_notes (customer_id, created_at);
CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY,
    message TEXT NOT NULL,
    priority TEXT NOT NULL,
    site_id INTEGER,
    team_id INTEGER,
    sender TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    sender_site_id INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    withdrawn_at INTEGER
);
CREATE INDEX ix_broadcasts_expires ON broadcasts (expires_at);
CREATE TABLE broadcast_reads (
    broadcast_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    read_at INTEGER NOT NULL,
    PRIMARY KEY (broadcast_id, user_id)
);
CREATE TABLE data_protection_keys (
    id INTEGER PRIMARY KEY,
    friendly_name TEXT,
    xml TEXT NOT NULL
);
