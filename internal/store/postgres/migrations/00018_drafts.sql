-- +goose Up
-- Generated images waiting for their subject's decision (package draft).
-- The image and its caption are a sealed object named by id under the
-- purpose's scope key; nothing here is content.
CREATE TABLE drafts (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    source_asset TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    feature      TEXT NOT NULL,
    retention    TEXT NOT NULL,
    size         BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX drafts_subject ON drafts(tenant_id, subject_hash);
CREATE INDEX drafts_source ON drafts(tenant_id, source_asset);
CREATE INDEX drafts_expiry ON drafts(expires_at);

-- An asset accepted from a draft: what made it and a keyed reference to
-- its source photo. It goes with the asset.
CREATE TABLE generated_assets (
    asset_id      TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL,
    subject_hash  TEXT NOT NULL,
    feature       TEXT NOT NULL,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    source_ref    TEXT NOT NULL,
    generation_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX generated_assets_subject ON generated_assets(tenant_id, subject_hash);

-- +goose Down
DROP TABLE generated_assets;
DROP TABLE drafts;
