-- Web: users, sessions and API tokens (docgate issue 7).
-- Secrets are never stored: passwords as argon2 PHC strings, session ids and
-- API tokens as sha256 hex of the random value handed to the client.
CREATE TABLE IF NOT EXISTS web_users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    unit TEXT,
    email TEXT,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES web_users(id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(user_id);

CREATE TABLE IF NOT EXISTS web_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES web_users(id),
    label TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked INTEGER NOT NULL DEFAULT 0
);

-- Replies of a document (reports: replied per month).
CREATE INDEX IF NOT EXISTS web_documents_parent ON documents (parent_id);
