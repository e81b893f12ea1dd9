-- +goose Up
CREATE TABLE consents (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    subject_hash   TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    state          TEXT NOT NULL,
    notice_version TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, subject_hash, purpose)
) STRICT;

CREATE TABLE receipts (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    body         BLOB NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash, seq)
) STRICT;

CREATE TABLE purges (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash, purpose)
) STRICT;

-- +goose Down
DROP TABLE purges;
DROP TABLE receipts;
DROP TABLE consents;
