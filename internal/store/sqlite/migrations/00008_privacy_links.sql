-- +goose Up
CREATE TABLE privacy_links (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;

-- +goose Down
DROP TABLE privacy_links;
