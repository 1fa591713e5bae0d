-- Background passes (sandbox auto-review, retention) run on one node at a time, as
-- ../sqlite/0005_job_leases.sql: the holder of a job's lease runs it (claimed with
-- FOR UPDATE SKIP LOCKED); another node takes over once the lease has expired.
CREATE TABLE job_leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    lease_until BIGINT  NOT NULL
);
