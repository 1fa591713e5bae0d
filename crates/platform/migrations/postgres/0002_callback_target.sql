-- The destination (`host:port`, lower-case) of each callback, so workers can limit how many
-- deliveries go to one merchant at once and skip merchants already at their limit.
ALTER TABLE callbacks ADD COLUMN target TEXT;
