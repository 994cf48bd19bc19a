-- Issue 11, "nobody sees the money": the order view says where the payment
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
