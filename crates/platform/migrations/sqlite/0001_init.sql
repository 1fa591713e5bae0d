-- PhotoReceipt schema, SQLite. Times are Unix milliseconds (INTEGER), JSON is TEXT.
-- migrations/postgres/ will hold the same schema for PostgreSQL, kept in step.

CREATE TABLE apps (
    app_id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                      TEXT    NOT NULL,
    key_hash                  TEXT    NOT NULL UNIQUE,   -- SHA-256 hex of the key
    key_prefix                TEXT    NOT NULL,
    sign                      TEXT    NOT NULL,          -- md5(key) hex, the callback sign
    webhook_secret            TEXT    NOT NULL,
    prev_webhook_secret       TEXT,
    prev_webhook_secret_until INTEGER,
    balance_fen               INTEGER NOT NULL DEFAULT 0,
    sandbox                   INTEGER NOT NULL DEFAULT 0 CHECK (sandbox IN (0, 1)),
    disabled                  INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    callback_format           TEXT    NOT NULL DEFAULT 'form' CHECK (callback_format IN ('form', 'json')),
    created_at                INTEGER NOT NULL
);

CREATE TABLE orders (
    order_no     TEXT    PRIMARY KEY,                     -- 20 digits, unique across nodes
    app_id       INTEGER NOT NULL REFERENCES apps (app_id),
    pic_id       TEXT    NOT NULL,
    item_id      INTEGER NOT NULL,
    status       INTEGER NOT NULL CHECK (status IN (1, 2, 3, -1, -2)),
    notice_url   TEXT    NOT NULL,
    params       TEXT,                                    -- personal data; NULL once purged
    param_files  TEXT    NOT NULL DEFAULT '[]',           -- JSON [{field, key}] of files in params
    is_print     INTEGER NOT NULL DEFAULT 0 CHECK (is_print IN (0, 1)),
    print_param  TEXT,
    price_fen    INTEGER NOT NULL,
    sla_due_at   INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    reviewed_at  INTEGER,
    completed_at INTEGER,
    reviewer     TEXT,
    reject_msg   TEXT,
    receipt_no   TEXT,
    receipt_key  TEXT,
    image_key    TEXT,
    print_key    TEXT,
    purged_at    INTEGER
);
CREATE INDEX orders_by_status ON orders (status, submitted_at);
CREATE INDEX orders_by_app ON orders (app_id, status);
CREATE INDEX orders_to_purge ON orders (updated_at) WHERE purged_at IS NULL;

CREATE TABLE pics (
    pic_id       TEXT    PRIMARY KEY,                     -- digits
    app_id       INTEGER NOT NULL REFERENCES apps (app_id),
    item_id      INTEGER NOT NULL,
    photos       TEXT    NOT NULL,                        -- JSON [{colour, key}]
    original_key TEXT,
    png_key      TEXT,
    print_key    TEXT,
    checks       TEXT    NOT NULL,                        -- JSON
    used_by      TEXT REFERENCES orders (order_no),       -- the order that took it
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX pics_unsubmitted ON pics (expires_at) WHERE used_by IS NULL;
CREATE INDEX pics_by_order ON pics (used_by);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no    TEXT    NOT NULL REFERENCES orders (order_no),
    from_status INTEGER,
    to_status   INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    note        TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (order_no, id);

CREATE TABLE callbacks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      TEXT    NOT NULL UNIQUE,
    order_no        TEXT    NOT NULL REFERENCES orders (order_no),
    app_id          INTEGER NOT NULL REFERENCES apps (app_id),
    status          INTEGER NOT NULL,
    notice_url      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,                     -- JSON CallbackPayload
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_at);
CREATE INDEX callbacks_by_order ON callbacks (order_no, id);

CREATE TABLE callback_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    callback_id   INTEGER NOT NULL REFERENCES callbacks (id),
    at            INTEGER NOT NULL,
    http_status   INTEGER,
    latency_ms    INTEGER NOT NULL,
    response_head TEXT    NOT NULL,
    error         TEXT
);
CREATE INDEX callback_attempts_by_callback ON callback_attempts (callback_id, id);

CREATE TABLE ledger (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id        INTEGER NOT NULL REFERENCES apps (app_id),
    order_no      TEXT REFERENCES orders (order_no),
    kind          TEXT    NOT NULL CHECK (kind IN ('topup', 'charge', 'refund')),
    amount_fen    INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    note          TEXT,
    at            INTEGER NOT NULL
);
CREATE INDEX ledger_by_app ON ledger (app_id, id);
-- At most one charge (and one refund) per order: a double charge is impossible.
CREATE UNIQUE INDEX ledger_one_charge_per_order ON ledger (order_no) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_one_refund_per_order ON ledger (order_no) WHERE kind = 'refund';
