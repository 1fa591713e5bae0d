-- Background passes (sandbox auto-review, retention) run on one node at a time: the node
-- holding a job's lease runs it; another takes over once the lease has expired.
CREATE TABLE job_leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    lease_until INTEGER NOT NULL
);
