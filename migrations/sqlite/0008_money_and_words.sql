-- Issue 11, "five businesses, not one".
--
-- "Nobody sees the money": the order view says where the payment
-- stands (authorized, captured, released) and who cancelled, so each reader
-- gets their own words ("you cancelled" to the customer, "the customer
-- cancelled" to the store) instead of the customer's wording for everyone.
ALTER TABLE order_views ADD COLUMN payment TEXT;
ALTER TABLE order_views ADD COLUMN cancelled_by TEXT;

-- Orders placed before this migration: their payment as the payment
-- context recorded it (the log holds no payment events for them).
UPDATE order_views SET payment = (
    SELECT CASE p.status WHEN 'captured' THEN 'captured' WHEN 'voided' THEN 'released' ELSE 'authorized' END
    FROM payments p WHERE p.order_id = order_views.order_id
);
UPDATE order_views SET cancelled_by = 'customer', reason = NULL WHERE status = 'cancelled' AND reason = 'Cancelled by you';
UPDATE order_views SET cancelled_by = 'owner', reason = NULL WHERE status = 'cancelled' AND reason = 'Cancelled by the store owner';
UPDATE order_views SET cancelled_by = 'admin', reason = NULL WHERE status = 'cancelled' AND reason = 'Cancelled by the operator';
UPDATE order_views SET cancelled_by = 'rider', reason = NULL WHERE status = 'cancelled' AND reason = 'Cancelled by the rider';

-- Each business's own words: the rider's job and the notifications know
-- what kind of store the order is from (a repair shop's driver brings back a
-- car, not food). Filled once from the stores; from now on from the events.
ALTER TABLE delivery_jobs ADD COLUMN store_kind TEXT NOT NULL DEFAULT 'restaurant';
UPDATE delivery_jobs SET store_kind = (
    SELECT s.kind FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = delivery_jobs.order_id
) WHERE EXISTS (SELECT 1 FROM orders o WHERE o.id = delivery_jobs.order_id);
-- Notifications are rebuilt from the log (0007): orders placed before the
-- kind rode on OrderPlaced keep a restaurant's words, as they were written.
ALTER TABLE notification_orders ADD COLUMN store_kind TEXT NOT NULL DEFAULT 'restaurant';
-- Views written before: the order as placed learns its store's kind.
UPDATE order_views SET placed = json_set(placed, '$.store_kind', (
    SELECT s.kind FROM stores s WHERE s.id = order_views.store_id
)) WHERE EXISTS (SELECT 1 FROM stores s WHERE s.id = order_views.store_id);

-- Owners take items off the menu (issue 11): hidden, not deleted, so the
-- orders and carts that hold them keep pointing at a row.
ALTER TABLE menu_items ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));
