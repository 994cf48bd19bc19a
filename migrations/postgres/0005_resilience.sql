-- Issue 6: when the reconciler settled a payment left behind by a crash or
-- a timeout (NULL: not looked at, or not needed).
ALTER TABLE payments ADD COLUMN reconciled_at BIGINT;
