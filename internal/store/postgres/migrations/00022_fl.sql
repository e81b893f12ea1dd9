-- +goose Up
-- Federated learning (issue 23): device keys enrolled for one subject each
-- (Sybil resistance is the enrolment), tasks with their spent privacy
-- budget, audited round records (participants as keyed hashes) and signed
-- model versions, one of them current.
CREATE TABLE fl_devices (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,
    subject_hash TEXT NOT NULL,
    public_key   BYTEA NOT NULL,
    enrolled_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX fl_devices_subject ON fl_devices(tenant_id, subject_hash);

CREATE TABLE fl_tasks (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    id         TEXT NOT NULL,
    config     BYTEA NOT NULL,
    canary     BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    rounds     BIGINT NOT NULL DEFAULT 0,
    rho_spent  DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE fl_rounds (
    tenant_id     TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    number        BIGINT NOT NULL,
    participants  TEXT NOT NULL, -- JSON array of keyed hashes
    survivors     BIGINT NOT NULL,
    rho           DOUBLE PRECISION NOT NULL,
    outcome       TEXT NOT NULL,
    canary_before DOUBLE PRECISION NOT NULL,
    canary_after  DOUBLE PRECISION NOT NULL,
    version       BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, task_id, number),
    FOREIGN KEY (tenant_id, task_id) REFERENCES fl_tasks(tenant_id, id)
);

CREATE TABLE fl_versions (
    tenant_id  TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    number     BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    artefact   BYTEA NOT NULL,
    current    BOOLEAN NOT NULL DEFAULT false,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, task_id, number),
    FOREIGN KEY (tenant_id, task_id) REFERENCES fl_tasks(tenant_id, id)
);

-- +goose Down
DROP TABLE fl_versions;
DROP TABLE fl_rounds;
DROP TABLE fl_tasks;
DROP TABLE fl_devices;
