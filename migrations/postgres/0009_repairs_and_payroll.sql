-- Issue 11: the repair shop's final amount (seed 001) and the canteen's
-- payroll deduction (seed 003).

-- Ordering: what the payment holds (the total, or a higher final amount the
-- customer approved) and a final amount waiting for their approval, in won.
-- Orders placed before hold their total.
ALTER TABLE orders ADD COLUMN authorized_won BIGINT CHECK (authorized_won >= 0);
ALTER TABLE orders ADD COLUMN proposed_won BIGINT CHECK (proposed_won >= 0);
UPDATE orders SET authorized_won = total_won;

-- Payment: how it is paid, and the final amount to charge (a repair's;
-- NULL: the amount held). Payments before were cards.
ALTER TABLE payments ADD COLUMN method TEXT NOT NULL DEFAULT 'card' CHECK (method IN ('card', 'payroll'));
ALTER TABLE payments ADD COLUMN final_won BIGINT CHECK (final_won >= 0);

-- Payment: each canteen's roster (seed 003, "사원증"): an employee number is
-- bound to one account, and an account has one number per canteen.
CREATE TABLE payroll_employees (
    store_id        BIGINT NOT NULL REFERENCES stores (id),
    employee_number TEXT   NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    employee_name   TEXT   NOT NULL,
    PRIMARY KEY (store_id, employee_number),
    UNIQUE (store_id, user_id)
);

-- Payment: whose pay a payroll payment comes from, written with the payment.
CREATE TABLE payroll_orders (
    order_id        BIGINT PRIMARY KEY REFERENCES orders (id),
    store_id        BIGINT NOT NULL REFERENCES stores (id),
    user_id         BIGINT NOT NULL REFERENCES users (id),
    employee_number TEXT   NOT NULL
);

-- Payment: what was deducted from whose pay, once per collected order, by
-- the month (Korea time, 'YYYY-MM') of the owner's statement.
CREATE TABLE payroll_deductions (
    order_id        BIGINT PRIMARY KEY REFERENCES orders (id),
    store_id        BIGINT NOT NULL REFERENCES stores (id),
    employee_number TEXT   NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    amount_won      BIGINT NOT NULL CHECK (amount_won >= 0),
    month           TEXT   NOT NULL,
    deducted_at     BIGINT NOT NULL
);
CREATE INDEX payroll_deductions_statement ON payroll_deductions (store_id, month, employee_number);

-- View: the repair's estimate and final amount, a final amount waiting for
-- the customer, and what is held and what was charged, in won.
ALTER TABLE order_views ADD COLUMN estimate_won BIGINT;
ALTER TABLE order_views ADD COLUMN final_won BIGINT;
ALTER TABLE order_views ADD COLUMN proposed_won BIGINT;
ALTER TABLE order_views ADD COLUMN held_won BIGINT;
ALTER TABLE order_views ADD COLUMN charged_won BIGINT;
