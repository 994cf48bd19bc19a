-- Failed logins are counted per account AND client address (issue 15, item 7):
-- a guesser slows down their own address only, and the account's owner still
-- gets in from theirs. The old per-account counter (login_failures) let anyone
-- lock anyone out; its rows are short-lived throttle state, not kept.
DROP TABLE login_failures;

CREATE TABLE login_throttle (
    email        TEXT   NOT NULL,
    client       TEXT   NOT NULL,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (email, client)
);
CREATE INDEX login_throttle_last_failure ON login_throttle (last_failure);
