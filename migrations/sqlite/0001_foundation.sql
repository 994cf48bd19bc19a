-- Foundation schema (issue 2), SQLite dialect. Times are unix milliseconds,
-- money is won, flags are 0/1: the same value types as the PostgreSQL schema.

-- Accounts context.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'owner', 'rider', 'admin')),
    vehicle       TEXT    CHECK (vehicle IN ('walking', 'bicycle', 'motorbike')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    CHECK ((role = 'rider') = (vehicle IS NOT NULL))
);

-- Store context.
CREATE TABLE stores (
    id                   INTEGER PRIMARY KEY,
    owner_id             INTEGER NOT NULL REFERENCES users (id),
    name                 TEXT    NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('restaurant', 'flower_shop', 'canteen', 'repair_shop')),
    category             TEXT    NOT NULL,
    address              TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('open', 'paused', 'closed')),
    default_prep_minutes INTEGER NOT NULL CHECK (default_prep_minutes BETWEEN 1 AND 180),
    offers_delivery      INTEGER NOT NULL CHECK (offers_delivery IN (0, 1)),
    offers_pickup        INTEGER NOT NULL CHECK (offers_pickup IN (0, 1)),
    min_order_won        INTEGER NOT NULL DEFAULT 0 CHECK (min_order_won >= 0),
    created_at           INTEGER NOT NULL,
    CHECK (offers_delivery + offers_pickup > 0)
);
CREATE INDEX stores_owner ON stores (owner_id);

CREATE TABLE menu_items (
    id          INTEGER PRIMARY KEY,
    store_id    INTEGER NOT NULL REFERENCES stores (id),
    position    INTEGER NOT NULL,
    category    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    price_won   INTEGER NOT NULL CHECK (price_won >= 0),
    -- NULL: unlimited (made to order). Never negative (requirement F8).
    stock       INTEGER CHECK (stock >= 0),
    sold_out    INTEGER NOT NULL DEFAULT 0 CHECK (sold_out IN (0, 1))
);
CREATE INDEX menu_items_store ON menu_items (store_id, position);

-- Event log (transactional outbox). `seq` is assigned from event_sequence
-- inside the appending transaction, so it is gap-free and in commit order.
CREATE TABLE event_sequence (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO event_sequence (id, last_seq) VALUES (1, 0);

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    stream         TEXT    NOT NULL,
    stream_id      INTEGER NOT NULL,
    correlation_id INTEGER,
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    recorded_at    INTEGER NOT NULL
);
CREATE INDEX events_correlation ON events (correlation_id, seq);
CREATE INDEX events_stream ON events (stream, stream_id, seq);

-- One row per consumer: how far it has applied the log, and which instance
-- holds the lease to run it.
CREATE TABLE consumer_checkpoints (
    consumer    TEXT    PRIMARY KEY,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL DEFAULT 0
);
