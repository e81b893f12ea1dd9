-- +goose Up
-- Provenance (issue 20). Certificates the provenance service issued: the
-- installation CA (tenant_id '') and per-tenant claim-signing certificates.
-- Private keys are in the key service, never here.
CREATE TABLE provenance_certs (
    tenant_id  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    serial     TEXT NOT NULL,
    der        BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, version)
);

-- Watermark generation ids issued, by keyed hash only: no subject, no image.
CREATE TABLE provenance_marks (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    mark_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, mark_hash)
);

-- Verify finds the asset a watermarked draft became by its generation id.
CREATE INDEX generated_assets_generation ON generated_assets(tenant_id, generation_id);

-- What an upload carried before ingest stripped it.
CREATE TABLE asset_provenance (
    asset_id  TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    manifest  BOOLEAN NOT NULL,
    watermark BOOLEAN NOT NULL
);

-- A tenant's provenance settings: the watermark is on unless turned off.
CREATE TABLE provenance_settings (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    watermark_off BOOLEAN NOT NULL
);

-- +goose Down
DROP TABLE provenance_settings;
DROP INDEX generated_assets_generation;
DROP TABLE asset_provenance;
DROP TABLE provenance_marks;
DROP TABLE provenance_certs;
