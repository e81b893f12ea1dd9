-- +goose Up
-- Differentially private analytics (issue 22): minimal contributions of
-- subjects with analytics consent, removed through the derived-data
-- registry and on their retention schedule, and the privacy-budget ledger.
CREATE TABLE analytics_photos (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    asset_id     TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    day          BIGINT NOT NULL,
    faces        BIGINT NOT NULL, -- -1: not analysed for faces
    tags         TEXT,            -- NULL: not analysed for tags
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, asset_id)
);
CREATE INDEX analytics_photos_day ON analytics_photos(tenant_id, day);
CREATE INDEX analytics_photos_subject ON analytics_photos(tenant_id, subject_hash);
CREATE INDEX analytics_photos_expires ON analytics_photos(expires_at);

CREATE TABLE analytics_features (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    feature      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_hash, feature, day)
);
CREATE INDEX analytics_features_day ON analytics_features(tenant_id, day);
CREATE INDEX analytics_features_expires ON analytics_features(expires_at);

-- Append-only: each query's cost, written before its answer is released.
CREATE TABLE analytics_ledger (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    metric     TEXT NOT NULL,
    from_at    BIGINT NOT NULL,
    to_at      BIGINT NOT NULL,
    eps_milli  BIGINT NOT NULL CHECK (eps_milli > 0),
    rho_units  BIGINT NOT NULL CHECK (rho_units > 0),
    delta_pico BIGINT NOT NULL CHECK (delta_pico >= 0),
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX analytics_ledger_at ON analytics_ledger(tenant_id, at);
-- +goose StatementBegin
CREATE FUNCTION analytics_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'analytics_ledger is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER analytics_ledger_no_update BEFORE UPDATE ON analytics_ledger
    FOR EACH ROW EXECUTE FUNCTION analytics_ledger_append_only();
CREATE TRIGGER analytics_ledger_no_delete BEFORE DELETE ON analytics_ledger
    FOR EACH ROW EXECUTE FUNCTION analytics_ledger_append_only();
-- TRUNCATE skips row triggers: refuse it too.
CREATE TRIGGER analytics_ledger_no_truncate BEFORE TRUNCATE ON analytics_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_ledger_append_only();

-- +goose Down
DROP TRIGGER analytics_ledger_no_truncate ON analytics_ledger;
DROP TRIGGER analytics_ledger_no_delete ON analytics_ledger;
DROP TRIGGER analytics_ledger_no_update ON analytics_ledger;
DROP FUNCTION analytics_ledger_append_only();
DROP TABLE analytics_ledger;
DROP TABLE analytics_features;
DROP TABLE analytics_photos;
