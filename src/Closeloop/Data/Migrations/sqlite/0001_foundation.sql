-- Foundation schema for SQLite. Instants are unix milliseconds (INTEGER) and days are unix days, so that
-- both providers compare and order them the same way and the hot ingest path binds plain integers.
CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'in_house',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at INTEGER NOT NULL
);
CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    site_id INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    team_id INTEGER NOT NULL DEFAULT 0,
    site_id INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    phone TEXT,
    handle TEXT,
    preferred_channel TEXT,
    tier TEXT,
    consent INTEGER NOT NULL DEFAULT 1,
    do_not_contact INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE issues (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    contact_count INTEGER NOT NULL,
    first_resolved INTEGER,
    day INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    channel TEXT NOT NULL
);
CREATE INDEX ix_issues_chain ON issues (customer_id, reason, last_at);
CREATE INDEX ix_issues_first_at ON issues (first_at);
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    content_hash BLOB NOT NULL,
    customer_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    queue TEXT,
    reason TEXT,
    wait_seconds INTEGER,
    transfers INTEGER,
    resolved INTEGER,
    summary TEXT,
    issue_id INTEGER,
    sentiment REAL,
    signals TEXT,
    root_cause TEXT,
    root_cause_confidence REAL,
    received_at INTEGER NOT NULL
);
CREATE INDEX ix_contacts_customer_time ON contacts (customer_id, occurred_at, id);
CREATE INDEX ix_contacts_site_time ON contacts (site_id, occurred_at);
CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    content_hash BLOB NOT NULL,
    customer_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT,
    responded_at INTEGER NOT NULL,
    contact_id INTEGER,
    site_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    sentiment REAL,
    signals TEXT,
    root_cause TEXT,
    root_cause_confidence REAL,
    received_at INTEGER NOT NULL
);
CREATE INDEX ix_responses_customer_time ON responses (customer_id, responded_at, id);
CREATE INDEX ix_responses_site_time ON responses (site_id, responded_at);
CREATE INDEX ix_responses_time ON responses (responded_at);
-- Rollups: counts per UTC day and organisation cell, kept current in the ingest transaction so that
-- GET /metrics reads thousands of rows instead of scanning millions of responses. Agents have their own
-- table: with the agent in the main key the rollups grow almost as large as the data. 0 and '' stand for
-- "none" because NULLs never collide in a unique key and ON CONFLICT would not fire.
CREATE TABLE response_rollups (
    day INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    top INTEGER NOT NULL,
    bottom INTEGER NOT NULL,
    score_sum INTEGER NOT NULL,
    PRIMARY KEY (day, site_id, team_id, channel, metric)
) WITHOUT ROWID;
CREATE TABLE agent_response_rollups (
    day INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    top INTEGER NOT NULL,
    bottom INTEGER NOT NULL,
    score_sum INTEGER NOT NULL,
    PRIMARY KEY (day, agent_id, site_id, metric)
) WITHOUT ROWID;
CREATE TABLE issue_rollups (
    day INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    issues INTEGER NOT NULL,
    fcr INTEGER NOT NULL,
    PRIMARY KEY (day, site_id, team_id, channel)
) WITHOUT ROWID;
CREATE TABLE agent_issue_rollups (
    day INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    issues INTEGER NOT NULL,
    fcr INTEGER NOT NULL,
    PRIMARY KEY (day, agent_id, site_id)
) WITHOUT ROWID;
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    site_id INTEGER,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
