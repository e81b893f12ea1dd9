-- +goose Up
-- Provenance (issue 20). Certificates the provenance service issued: the
-- installation CA (tenant_id '') and per-tenant claim-signing certificates.
-- Private keys are in the key service, never here.
CREATE TABLE provenance_certs (
    tenant_id  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    serial     TEXT NOT NULL,
    der        BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, version)
) STRICT;

-- Watermark generation ids, by keyed hash only, and what they went into.
CREATE TABLE provenance_marks (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    mark_hash    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    draft_id     TEXT NOT NULL DEFAULT '',
    asset_id     TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, mark_hash)
) STRICT;
CREATE INDEX provenance_marks_subject ON provenance_marks(tenant_id, subject_hash);

-- What an upload carried before ingest stripped it.
CREATE TABLE asset_provenance (
    asset_id  TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    manifest  INTEGER NOT NULL,
    watermark INTEGER NOT NULL
) STRICT;

-- A tenant's provenance settings: the watermark is on unless turned off.
CREATE TABLE provenance_settings (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    watermark_off INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE provenance_settings;
DROP TABLE asset_provenance;
DROP TABLE provenance_marks;
DROP TABLE provenance_certs;
