-- +goose Up
CREATE TABLE consents (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    subject_hash   TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    state          TEXT NOT NULL,
    notice_version TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, subject_hash, purpose)
);

CREATE TABLE receipts (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    body         BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash, seq)
);

CREATE TABLE purges (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash, purpose)
);

-- +goose Down
DROP TABLE purges;
DROP TABLE receipts;
DROP TABLE consents;
