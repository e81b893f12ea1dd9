-- +goose Up
-- Differentially private analytics (issue 22): minimal contributions of
-- subjects with analytics consent, removed through the derived-data
-- registry and on their retention schedule, and the privacy-budget ledger.
CREATE TABLE analytics_photos (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    asset_id     TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    day          INTEGER NOT NULL,
    faces        INTEGER NOT NULL, -- -1: not analysed for faces
    tags         TEXT,            -- NULL: not analysed for tags
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, asset_id)
) STRICT;
CREATE INDEX analytics_photos_day ON analytics_photos(tenant_id, day);
CREATE INDEX analytics_photos_subject ON analytics_photos(tenant_id, subject_hash);
CREATE INDEX analytics_photos_expires ON analytics_photos(expires_at);

CREATE TABLE analytics_features (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    feature      TEXT NOT NULL,
    day          INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash, feature, day)
) STRICT;
CREATE INDEX analytics_features_day ON analytics_features(tenant_id, day);
CREATE INDEX analytics_features_expires ON analytics_features(expires_at);

-- Append-only: each query's cost, written before its answer is released.
CREATE TABLE analytics_ledger (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    metric     TEXT NOT NULL,
    from_at    INTEGER NOT NULL,
    to_at      INTEGER NOT NULL,
    eps_milli  INTEGER NOT NULL CHECK (eps_milli > 0),
    rho_units  INTEGER NOT NULL CHECK (rho_units > 0),
    delta_pico INTEGER NOT NULL CHECK (delta_pico >= 0),
    PRIMARY KEY (tenant_id, seq)
) STRICT;
CREATE INDEX analytics_ledger_at ON analytics_ledger(tenant_id, at);
CREATE TRIGGER analytics_ledger_no_update BEFORE UPDATE ON analytics_ledger
BEGIN SELECT RAISE(ABORT, 'analytics_ledger is append-only'); END;
CREATE TRIGGER analytics_ledger_no_delete BEFORE DELETE ON analytics_ledger
BEGIN SELECT RAISE(ABORT, 'analytics_ledger is append-only'); END;

-- +goose Down
DROP TRIGGER analytics_ledger_no_delete;
DROP TRIGGER analytics_ledger_no_update;
DROP TABLE analytics_ledger;
DROP TABLE analytics_features;
DROP TABLE analytics_photos;
