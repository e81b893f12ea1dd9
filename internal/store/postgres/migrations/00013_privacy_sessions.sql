-- +goose Up
-- A privacy-center session lives only while the link that opened it is
-- used and not revoked: revoking the link, or erasing its subject (which
-- deletes the subject's links), ends the session.
ALTER TABLE privacy_links ADD COLUMN revoked_at BIGINT;
CREATE INDEX privacy_links_subject ON privacy_links(tenant_id, subject_hash);

-- +goose Down
DROP INDEX privacy_links_subject;
ALTER TABLE privacy_links DROP COLUMN revoked_at;
