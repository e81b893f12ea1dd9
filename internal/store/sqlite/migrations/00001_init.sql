-- +goose Up
CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    min_kek_version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    scopes      TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, created_at);

CREATE TABLE kek_versions (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    version    INTEGER NOT NULL,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    keyset     BLOB NOT NULL,
    PRIMARY KEY (tenant_id, version)
) STRICT;

CREATE TABLE scope_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    kek_version  INTEGER NOT NULL,
    wrapped      BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (tenant_id, subject_hash, purpose)
) STRICT;
CREATE INDEX scope_keys_version ON scope_keys(tenant_id, kek_version, id);

CREATE TABLE system_keysets (
    name       TEXT PRIMARY KEY,
    keyset     BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE system_keysets;
DROP TABLE scope_keys;
DROP TABLE kek_versions;
DROP TABLE api_keys;
DROP TABLE tenants;
