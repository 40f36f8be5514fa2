-- Sessions and tokens (docgate issue 13).
-- A session ends at expires_at (web.session_hours after login) or when it was
-- idle longer than web.session_idle_minutes (last_seen_at); an API token ends at
-- expires_at or when revoked. Times are UTC RFC 3339 ("2026-12-03T07:00:00Z"),
-- so they compare as text. An empty time is in the past: such a row is refused.
ALTER TABLE web_sessions ADD COLUMN last_seen_at TEXT NOT NULL DEFAULT '';
UPDATE web_sessions SET last_seen_at = created_at WHERE last_seen_at = '';
CREATE INDEX IF NOT EXISTS web_sessions_expires ON web_sessions(expires_at);

-- Tokens created before expiry existed end 90 days after their creation.
ALTER TABLE web_tokens ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
UPDATE web_tokens
   SET expires_at = strftime('%Y-%m-%dT%H:%M:%SZ', created_at, '+90 days')
 WHERE expires_at = '';
ALTER TABLE web_tokens ADD COLUMN revoked_at TEXT;
