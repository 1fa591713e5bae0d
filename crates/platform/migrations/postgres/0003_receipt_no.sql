-- The public receipt check (`/r/{receipt_no}`) looks orders up by their receipt number.
CREATE INDEX orders_by_receipt_no ON orders (receipt_no) WHERE receipt_no IS NOT NULL;
