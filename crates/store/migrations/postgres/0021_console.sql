-- The operator console's accounts (passwords as Argon2id PHC strings) and their sessions (kept by the
-- keyed digest of their token: the database alone opens none).
CREATE TABLE console_accounts (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    merchant_id UUID REFERENCES merchants (id),
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);

CREATE TABLE console_sessions (
    token_digest BYTEA PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES console_accounts (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_account_idx ON console_sessions (account_id);
