-- +goose Up
-- The derived-data registry's journal: a forget (of a photo, a purpose or
-- a subject) is recorded before it starts and removed when every kind of
-- derived data has forgotten, so a crash in between is finished at start.
CREATE TABLE forgets (
    tenant_id    TEXT NOT NULL,
    scope        TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    target       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, scope, subject_hash, target)
);

CREATE INDEX consents_expiry ON consents(expires_at) WHERE state = 'granted' AND expires_at > 0;
CREATE INDEX results_subject ON results(tenant_id, subject_hash);

-- +goose Down
DROP INDEX results_subject;
DROP INDEX consents_expiry;
DROP TABLE forgets;
