-- Accounts (issue 3). Failed logins per account, so the limit on password
-- guessing holds across replicas. Keyed by the email as typed (lowercased),
-- whether or not an account has it: a locked unknown email looks exactly like
-- a locked real one.
CREATE TABLE login_failures (
    email        TEXT   PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);
