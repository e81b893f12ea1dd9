-- +goose Up
-- State every node of an installation shares (issue 24 item 3). Rate
-- limits: one GCRA "theoretical arrival time" per bucket, in Unix
-- microseconds (a bucket whose tat is past is full and may be deleted);
-- daily quotas: one count per quota for its current UTC day. Bucket names
-- carry API key and tenant ids and keyed hashes of client addresses, never
-- an address.
CREATE TABLE rate_buckets (
    bucket TEXT PRIMARY KEY,
    tat    BIGINT NOT NULL
);

CREATE TABLE rate_quotas (
    quota TEXT PRIMARY KEY,
    day   BIGINT NOT NULL,
    count BIGINT NOT NULL
);

-- A kill switch set on one node reaches every node at once: each change
-- notifies channel obscura_kill_switches (listeners re-read the table;
-- the payload carries nothing).
-- +goose StatementBegin
CREATE FUNCTION obscura_notify_kill_switches() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('obscura_kill_switches', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER kill_switches_notify AFTER INSERT OR UPDATE OR DELETE ON kill_switches
    FOR EACH STATEMENT EXECUTE FUNCTION obscura_notify_kill_switches();

-- +goose Down
DROP TRIGGER kill_switches_notify ON kill_switches;
DROP FUNCTION obscura_notify_kill_switches();
DROP TABLE rate_quotas;
DROP TABLE rate_buckets;
