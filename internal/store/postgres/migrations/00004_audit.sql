-- +goose Up
CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    body      BYTEA NOT NULL
);
CREATE INDEX audit_tenant ON audit(tenant_id, seq);

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    hash      TEXT NOT NULL,
    time      TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE kill_switches (
    scope      TEXT PRIMARY KEY, -- "global", "tenant:<id>", "feature:<f>", "tenant:<id>/feature:<f>"
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE kill_switches;
DROP TABLE audit_checkpoints;
DROP TABLE audit;
