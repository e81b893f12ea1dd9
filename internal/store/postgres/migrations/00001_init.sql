-- +goose Up
CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    min_kek_version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    scopes      TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, created_at);

CREATE TABLE kek_versions (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    version    BIGINT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    keyset     BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE scope_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    subject_hash TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    kek_version  BIGINT NOT NULL,
    wrapped      BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, subject_hash, purpose)
);
CREATE INDEX scope_keys_version ON scope_keys(tenant_id, kek_version, id);

CREATE TABLE system_keysets (
    name       TEXT PRIMARY KEY,
    keyset     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE system_keysets;
DROP TABLE scope_keys;
DROP TABLE kek_versions;
DROP TABLE api_keys;
DROP TABLE tenants;
