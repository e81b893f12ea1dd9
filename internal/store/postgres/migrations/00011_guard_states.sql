-- +goose Up
-- The extraction guard's key states (throttled, blocked), so that a
-- restart lifts nothing. A key without a row is ok. Detail holds numbers
-- and fixed words only.
CREATE TABLE guard_states (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    key_id    TEXT NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('throttled', 'blocked')),
    detail    TEXT NOT NULL,
    since     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
);

-- +goose Down
DROP TABLE guard_states;
