-- One room per bounded context (issue 10). Carries today's data over.

-- Payment context: a payment given up on because the gateway did not answer
-- (the reconciler releases a hold the gateway grants later). Until now this
-- was read from the order's failure text.
ALTER TABLE payments ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0 CHECK (abandoned IN (0, 1));
UPDATE payments SET abandoned = 1
WHERE status = 'declined' AND order_id IN (
    SELECT id FROM orders
    WHERE failure = 'Payment is busy, please try again in a moment. Nothing was charged and your cart is kept.'
);

-- Delivery context: the delivery job, one per delivery order; until now a
-- rider column on the order. No foreign key to orders: another context's table.
CREATE TABLE delivery_jobs (
    order_id      INTEGER PRIMARY KEY,
    vehicle       TEXT    NOT NULL CHECK (vehicle IN ('walking', 'bicycle', 'motorbike')),
    status        TEXT    NOT NULL CHECK (status IN ('waiting', 'open', 'claimed', 'picked_up', 'delivered', 'cancelled')),
    rider_id      INTEGER,
    food_ready    INTEGER NOT NULL DEFAULT 0 CHECK (food_ready IN (0, 1)),
    store_name    TEXT    NOT NULL,
    store_address TEXT    NOT NULL,
    drop_off      TEXT    NOT NULL,
    fee_won       INTEGER NOT NULL CHECK (fee_won >= 0),
    ready_by      INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX delivery_jobs_board ON delivery_jobs (status, vehicle);
CREATE INDEX delivery_jobs_rider ON delivery_jobs (rider_id, status);
-- One job on the go per rider (issue 4), also when two claims race on PostgreSQL.
CREATE UNIQUE INDEX delivery_jobs_on_the_go ON delivery_jobs (rider_id) WHERE status IN ('claimed', 'picked_up');

INSERT INTO delivery_jobs (order_id, vehicle, status, rider_id, food_ready, store_name, store_address, drop_off,
                           fee_won, ready_by, created_at, updated_at)
SELECT o.id, o.delivery_type,
       CASE
           WHEN o.status = 'placed' THEN 'waiting'
           WHEN o.status IN ('accepted', 'ready') AND o.rider_id IS NULL THEN 'open'
           WHEN o.status IN ('accepted', 'ready') THEN 'claimed'
           WHEN o.status IN ('rejected', 'cancelled') THEN 'cancelled'
           ELSE o.status
       END,
       o.rider_id,
       CASE WHEN o.status IN ('ready', 'picked_up', 'delivered') THEN 1 ELSE 0 END,
       json_extract(o.placed, '$.store_name'), json_extract(o.placed, '$.store_address'),
       json_extract(o.placed, '$.address'), json_extract(o.placed, '$.fee'),
       (SELECT v.ready_by FROM order_views v WHERE v.order_id = o.id),
       o.created_at, o.updated_at
FROM orders o
WHERE o.fulfilment = 'delivery'
  AND o.status IN ('placed', 'accepted', 'ready', 'picked_up', 'delivered', 'rejected', 'cancelled');

-- The order no longer keeps its rider (SQLite cannot drop a column that
-- references another table; orders.rider_id stays, unused).

-- The delivery context's consumer and the order following its jobs start
-- from today: the rows above already hold everything before.
INSERT INTO consumer_checkpoints (consumer, last_seq) SELECT 'delivery_jobs', last_seq FROM event_sequence;
INSERT INTO consumer_checkpoints (consumer, last_seq) SELECT 'order_delivery', last_seq FROM event_sequence;

-- View context: who owns the order's store, for the live feed's rules.
ALTER TABLE order_views ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;
UPDATE order_views SET owner_id = json_extract(placed, '$.owner');

-- Notification context: notifications are stored as what happened (a notice
-- and its parameters), rendered in the reader's words when shown. The new
-- `notifications` consumer rebuilds them from the whole log on first start.
DROP TABLE notifications;
CREATE TABLE notifications (
    user_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    order_id   INTEGER NOT NULL,
    notice     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);

-- What the notification context remembers of each order to address its
-- notices; filled from the events (rebuilt with the notifications).
CREATE TABLE notification_orders (
    order_id      INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL,
    owner_id      INTEGER NOT NULL,
    store_name    TEXT    NOT NULL,
    store_address TEXT    NOT NULL,
    pickup        INTEGER NOT NULL CHECK (pickup IN (0, 1)),
    rider_id      INTEGER,
    legacy_rider  INTEGER NOT NULL DEFAULT 0 CHECK (legacy_rider IN (0, 1))
);
