-- +goose Up
CREATE TABLE suggestions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    asset_id     TEXT NOT NULL,
    x BIGINT NOT NULL, y BIGINT NOT NULL, w BIGINT NOT NULL, h BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX suggestions_expiry ON suggestions(expires_at);
CREATE INDEX suggestions_subject ON suggestions(tenant_id, subject_hash);

CREATE TABLE face_tags (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    asset_id     TEXT NOT NULL,
    person_id    TEXT NOT NULL,
    x BIGINT NOT NULL, y BIGINT NOT NULL, w BIGINT NOT NULL, h BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX face_tags_subject ON face_tags(tenant_id, subject_hash, person_id);

-- +goose Down
DROP TABLE face_tags;
DROP TABLE suggestions;
