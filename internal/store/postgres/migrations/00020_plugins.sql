-- +goose Up
-- The plugin registry (issue 21): publishers the installation trusts
-- (Ed25519 public keys) and installed plugins (the signed manifest file as
-- installed and the module's bytes). Installation-wide: a tenant turns a
-- plugin off with the kill switch feature plugin:<name>. No user data.
CREATE TABLE plugin_publishers (
    name       TEXT PRIMARY KEY,
    public_key BYTEA NOT NULL CHECK (octet_length(public_key) = 32),
    created_at BIGINT NOT NULL
);

CREATE TABLE plugins (
    name         TEXT PRIMARY KEY,
    version      TEXT NOT NULL,
    publisher    TEXT NOT NULL REFERENCES plugin_publishers(name),
    sha256       TEXT NOT NULL,
    manifest     BYTEA NOT NULL,
    module       BYTEA NOT NULL,
    installed_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE plugins;
DROP TABLE plugin_publishers;
