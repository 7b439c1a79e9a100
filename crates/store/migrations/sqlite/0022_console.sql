-- The operator console's accounts (passwords as Argon2id PHC strings) and their sessions (kept by the
-- keyed digest of their token: the database alone opens none).
CREATE TABLE console_accounts (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    merchant_id BLOB REFERENCES merchants (id),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);

CREATE TABLE console_sessions (
    token_digest BLOB PRIMARY KEY,
    account_id BLOB NOT NULL REFERENCES console_accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_account_idx ON console_sessions (account_id);
