-- +goose Up
-- State every node of an installation shares (issue 24 item 3). Rate
-- limits: one GCRA "theoretical arrival time" per bucket, in Unix
-- microseconds (a bucket whose tat is past is full and may be deleted);
-- daily quotas: one count per quota for its current UTC day. Bucket names
-- carry API key and tenant ids and keyed hashes of client addresses, never
-- an address.
CREATE TABLE rate_buckets (
    bucket TEXT PRIMARY KEY,
    tat    INTEGER NOT NULL
) STRICT;

CREATE TABLE rate_quotas (
    quota TEXT PRIMARY KEY,
    day   INTEGER NOT NULL,
    count INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE rate_quotas;
DROP TABLE rate_buckets;
