-- Background work that one replica at a time does (the payment reconciler):
-- who holds it and until when (unix ms). Issue 14.
CREATE TABLE leases (
    name     TEXT    PRIMARY KEY,
    owner    TEXT    NOT NULL,
    until_ms INTEGER NOT NULL
);
