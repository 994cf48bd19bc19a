-- The owner's dashboard alarm (issue 5): rings until an owner acknowledges a
-- new order; part of the order_views projection, rebuilt from OrderAcknowledged.
ALTER TABLE order_views ADD COLUMN acknowledged BIGINT NOT NULL DEFAULT 0;
