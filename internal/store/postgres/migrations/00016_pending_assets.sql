-- +goose Up
-- A photo's ciphertext is written before its record; this mark, written
-- first and cleared in the record's own transaction, names the blob a crash
-- in between leaves behind (issue 17.4: the orphan sweeper deletes it).
CREATE TABLE pending_assets (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX pending_assets_created ON pending_assets(created_at);

-- One row rewritten by readiness checks: can the store be written now?
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE write_probe;
DROP TABLE pending_assets;
