-- PhotoReceipt schema, PostgreSQL: the same tables, columns, constraints and indexes as
-- ../sqlite/0001_init.sql. Times are Unix milliseconds (BIGINT), JSON is TEXT (as on SQLite,
-- so both back-ends read and write the same text), flags are BOOLEAN.

CREATE TABLE apps (
    app_id                    BIGSERIAL PRIMARY KEY,
    name                      TEXT    NOT NULL,
    key_hash                  TEXT    NOT NULL UNIQUE,   -- SHA-256 hex of the key
    key_prefix                TEXT    NOT NULL,
    sign                      TEXT    NOT NULL,          -- md5(key) hex, the callback sign
    webhook_secret            TEXT    NOT NULL,
    prev_webhook_secret       TEXT,
    prev_webhook_secret_until BIGINT,
    balance_fen               BIGINT  NOT NULL DEFAULT 0,
    sandbox                   BOOLEAN NOT NULL DEFAULT FALSE,
    disabled                  BOOLEAN NOT NULL DEFAULT FALSE,
    callback_format           TEXT    NOT NULL DEFAULT 'form' CHECK (callback_format IN ('form', 'json')),
    created_at                BIGINT  NOT NULL
);

CREATE TABLE orders (
    order_no     TEXT    PRIMARY KEY,                     -- 20 digits, unique across nodes
    app_id       BIGINT  NOT NULL REFERENCES apps (app_id),
    pic_id       TEXT    NOT NULL,
    item_id      BIGINT  NOT NULL,
    status       INTEGER NOT NULL CHECK (status IN (1, 2, 3, -1, -2)),
    notice_url   TEXT    NOT NULL,
    params       TEXT,                                    -- personal data; NULL once purged
    param_files  TEXT    NOT NULL DEFAULT '[]',           -- JSON [{field, key}] of files in params
    is_print     BOOLEAN NOT NULL DEFAULT FALSE,
    print_param  TEXT,
    price_fen    BIGINT  NOT NULL,
    sla_due_at   BIGINT  NOT NULL,
    submitted_at BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    reviewed_at  BIGINT,
    completed_at BIGINT,
    reviewer     TEXT,
    reject_msg   TEXT,
    receipt_no   TEXT,
    receipt_key  TEXT,
    image_key    TEXT,
    print_key    TEXT,
    purged_at    BIGINT
);
-- The last 6 digits of order numbers (mod 10^6), shared by every node (SQLite: a process counter).
CREATE SEQUENCE order_no_serial;
CREATE INDEX orders_by_status ON orders (status, submitted_at);
CREATE INDEX orders_by_app ON orders (app_id, status);
CREATE INDEX orders_to_purge ON orders (updated_at) WHERE purged_at IS NULL;

CREATE TABLE pics (
    pic_id       TEXT    PRIMARY KEY,                     -- digits
    app_id       BIGINT  NOT NULL REFERENCES apps (app_id),
    item_id      BIGINT  NOT NULL,
    photos       TEXT    NOT NULL,                        -- JSON [{colour, key}]
    original_key TEXT,
    png_key      TEXT,
    print_key    TEXT,
    checks       TEXT    NOT NULL,                        -- JSON
    used_by      TEXT REFERENCES orders (order_no),       -- the order that took it
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX pics_unsubmitted ON pics (expires_at) WHERE used_by IS NULL;
CREATE INDEX pics_by_order ON pics (used_by);

CREATE TABLE order_events (
    id          BIGSERIAL PRIMARY KEY,
    order_no    TEXT    NOT NULL REFERENCES orders (order_no),
    from_status INTEGER,
    to_status   INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    note        TEXT,
    at          BIGINT  NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (order_no, id);

CREATE TABLE callbacks (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      TEXT    NOT NULL UNIQUE,
    order_no        TEXT    NOT NULL REFERENCES orders (order_no),
    app_id          BIGINT  NOT NULL REFERENCES apps (app_id),
    status          INTEGER NOT NULL,
    notice_url      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,                     -- JSON CallbackPayload
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_at);
CREATE INDEX callbacks_by_order ON callbacks (order_no, id);

CREATE TABLE callback_attempts (
    id            BIGSERIAL PRIMARY KEY,
    callback_id   BIGINT  NOT NULL REFERENCES callbacks (id),
    at            BIGINT  NOT NULL,
    http_status   BIGINT,
    latency_ms    BIGINT  NOT NULL,
    response_head TEXT    NOT NULL,
    error         TEXT
);
CREATE INDEX callback_attempts_by_callback ON callback_attempts (callback_id, id);

CREATE TABLE ledger (
    id            BIGSERIAL PRIMARY KEY,
    app_id        BIGINT  NOT NULL REFERENCES apps (app_id),
    order_no      TEXT REFERENCES orders (order_no),
    kind          TEXT    NOT NULL CHECK (kind IN ('topup', 'charge', 'refund')),
    amount_fen    BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    note          TEXT,
    at            BIGINT  NOT NULL
);
CREATE INDEX ledger_by_app ON ledger (app_id, id);
-- At most one charge (and one refund) per order: a double charge is impossible.
CREATE UNIQUE INDEX ledger_one_charge_per_order ON ledger (order_no) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_one_refund_per_order ON ledger (order_no) WHERE kind = 'refund';
