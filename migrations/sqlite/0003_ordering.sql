-- The order from cart to doorstep (issue 4). Same value types as before:
-- unix milliseconds, won, 0/1 flags, JSON as text.

-- Ordering context: one cart per customer per store.
CREATE TABLE cart_lines (
    customer_id  INTEGER NOT NULL REFERENCES users (id),
    store_id     INTEGER NOT NULL REFERENCES stores (id),
    menu_item_id INTEGER NOT NULL REFERENCES menu_items (id),
    quantity     INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (customer_id, menu_item_id)
);
CREATE INDEX cart_lines_store ON cart_lines (customer_id, store_id);

-- Ordering context: the order aggregate. A checkout's idempotency key is
-- unique per customer, so a second submit finds the first order (F3).
CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES users (id),
    store_id        INTEGER NOT NULL REFERENCES stores (id),
    idempotency_key TEXT    NOT NULL,
    fulfilment      TEXT    NOT NULL CHECK (fulfilment IN ('delivery', 'pickup')),
    delivery_type   TEXT    CHECK (delivery_type IN ('walking', 'bicycle', 'motorbike')),
    status          TEXT    NOT NULL,
    rider_id        INTEGER REFERENCES users (id),
    -- The order as placed (PlacedOrder JSON: lines, prices, addresses).
    placed          TEXT    NOT NULL,
    total_won       INTEGER NOT NULL CHECK (total_won >= 0),
    failure         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (customer_id, idempotency_key),
    CHECK ((fulfilment = 'delivery') = (delivery_type IS NOT NULL))
);
CREATE INDEX orders_status ON orders (status, updated_at);

-- Payment context: one payment per order, through the gateway port.
CREATE TABLE payments (
    order_id         INTEGER PRIMARY KEY REFERENCES orders (id),
    amount_won       INTEGER NOT NULL CHECK (amount_won >= 0),
    status           TEXT    NOT NULL CHECK (status IN ('authorizing', 'authorized', 'declined', 'captured', 'voided')),
    authorization_id TEXT,
    card_last4       TEXT    NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- Review context (F11): one review per completed order.
CREATE TABLE reviews (
    order_id    INTEGER PRIMARY KEY REFERENCES orders (id),
    store_id    INTEGER NOT NULL REFERENCES stores (id),
    customer_id INTEGER NOT NULL REFERENCES users (id),
    author      TEXT    NOT NULL,
    stars       INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX reviews_store ON reviews (store_id, created_at);

-- Projections (F9), built only from the event log by consumers; dropping
-- their rows and replaying the log rebuilds them.
CREATE TABLE order_views (
    order_id      INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL,
    store_id      INTEGER NOT NULL,
    delivery_type TEXT,
    status        TEXT    NOT NULL,
    rider_id      INTEGER,
    placed        TEXT    NOT NULL,
    prep_minutes  INTEGER,
    ready_by      INTEGER,
    reason        TEXT,
    review        TEXT,
    placed_at     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX order_views_customer ON order_views (customer_id, order_id);
CREATE INDEX order_views_store ON order_views (store_id, status);
CREATE INDEX order_views_jobs ON order_views (status, delivery_type);
CREATE INDEX order_views_rider ON order_views (rider_id, status);

CREATE TABLE notifications (
    user_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    order_id   INTEGER NOT NULL,
    message    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);

-- What each user has read: state of the user, not of the log, so it is kept
-- apart from the projection it marks.
CREATE TABLE notification_reads (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    last_read_seq INTEGER NOT NULL
);
