-- +goose Up
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    body      BLOB NOT NULL
) STRICT;
CREATE INDEX audit_tenant ON audit(tenant_id, seq);

CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    time      TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT;

CREATE TABLE kill_switches (
    scope      TEXT PRIMARY KEY, -- "global", "tenant:<id>", "feature:<f>", "tenant:<id>/feature:<f>"
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE kill_switches;
DROP TABLE audit_checkpoints;
DROP TABLE audit;
