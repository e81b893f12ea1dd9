-- +goose Up
CREATE TABLE privacy_links (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);

-- +goose Down
DROP TABLE privacy_links;
