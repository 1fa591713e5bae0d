-- The reviewers' console, as ../sqlite/0004_console.sql: operators, their sessions, the audit
-- log, and the admins' spec overrides.

CREATE TABLE operators (
    name          TEXT    PRIMARY KEY,                    -- [A-Za-z0-9._-]{1,40}
    role          TEXT    NOT NULL CHECK (role IN ('reviewer', 'admin')),
    password_hash TEXT    NOT NULL,                       -- argon2id PHC string
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE operator_sessions (
    token_hash TEXT    PRIMARY KEY,                       -- SHA-256 hex of the cookie's token
    operator   TEXT    NOT NULL REFERENCES operators (name),
    csrf       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator);

CREATE TABLE audit_log (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    at       BIGINT  NOT NULL
);
CREATE INDEX audit_log_by_operator ON audit_log (operator, at);

CREATE TABLE spec_overrides (
    item_id    BIGINT  PRIMARY KEY,
    enabled    BOOLEAN,                                   -- NULL: the catalogue's
    price_fen  BIGINT  CHECK (price_fen >= 0),            -- NULL: the catalogue's
    updated_by TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL
);
