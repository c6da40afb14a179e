-- The market API's own tables (added by market-api; the indexer never reads or writes them).
-- Shared by every API instance over one database, so any instance verifies any session.

-- SIWE nonces issued and not yet used: a verify consumes its nonce by deleting the row.
CREATE TABLE api_siwe_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Sessions: only the SHA-256 of the bearer token is stored.
CREATE TABLE api_sessions (
    token_hash TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX api_sessions_expiry ON api_sessions (expires_at);

-- Catalogue facts the chain does not hold, from the .ddrm header of contents uploaded through
-- the API (title, creator name, kind); a content registered elsewhere has no row.
CREATE TABLE api_content_meta (
    content_id   TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    creator_name TEXT NOT NULL,
    kind         TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    size_bytes   BIGINT NOT NULL
);
