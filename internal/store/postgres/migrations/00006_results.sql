-- +goose Up
CREATE TABLE results (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    asset_id     TEXT NOT NULL,
    feature      TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    retention    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, asset_id, feature)
);
CREATE INDEX results_expiry ON results(expires_at);

-- +goose Down
DROP TABLE results;
