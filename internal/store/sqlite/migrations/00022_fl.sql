-- +goose Up
-- Federated learning (issue 23): device keys enrolled for one subject each
-- (Sybil resistance is the enrolment), tasks with their spent privacy
-- budget, audited round records (participants as keyed hashes) and signed
-- model versions, one of them current.
CREATE TABLE fl_devices (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    public_key   BLOB NOT NULL,
    enrolled_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX fl_devices_subject ON fl_devices(tenant_id, subject_hash);

CREATE TABLE fl_tasks (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    id         TEXT NOT NULL,
    config     BLOB NOT NULL,
    canary     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    rounds     INTEGER NOT NULL DEFAULT 0,
    rho_spent  REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE fl_rounds (
    tenant_id     TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    number        INTEGER NOT NULL,
    participants  TEXT NOT NULL, -- JSON array of keyed hashes
    survivors     INTEGER NOT NULL,
    rho           REAL NOT NULL,
    outcome       TEXT NOT NULL,
    canary_before REAL NOT NULL,
    canary_after  REAL NOT NULL,
    version       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, task_id, number),
    FOREIGN KEY (tenant_id, task_id) REFERENCES fl_tasks(tenant_id, id)
) STRICT;

CREATE TABLE fl_versions (
    tenant_id  TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    number     INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    artefact   BLOB NOT NULL,
    current    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, task_id, number),
    FOREIGN KEY (tenant_id, task_id) REFERENCES fl_tasks(tenant_id, id)
) STRICT;

-- +goose Down
DROP TABLE fl_versions;
DROP TABLE fl_rounds;
DROP TABLE fl_tasks;
DROP TABLE fl_devices;
