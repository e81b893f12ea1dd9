-- +goose Up
CREATE TABLE alerts (
    id        TEXT PRIMARY KEY,
    time      BIGINT NOT NULL,
    rule      TEXT NOT NULL,
    severity  TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX alerts_tenant ON alerts(tenant_id, time);

-- +goose Down
DROP TABLE alerts;
