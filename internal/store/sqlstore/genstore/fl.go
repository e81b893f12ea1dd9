package genstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

var _ store.FL = (*Generators)(nil)

// EnrollFLDevice implements store.FL.
func (s *Generators) EnrollFLDevice(ctx context.Context, d store.FLDevice) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO fl_devices(tenant_id, id, subject_hash, public_key, enrolled_at) VALUES (?,?,?,?,?)`,
		d.Tenant, d.ID, d.SubjectHash, d.PublicKey, sqlstore.Unix(d.EnrolledAt))
	return s.c.Classify("enroll fl device", err)
}

// FLDevice implements store.FL.
func (s *Generators) FLDevice(ctx context.Context, tenant, id string) (store.FLDevice, error) {
	d := store.FLDevice{Tenant: tenant, ID: id}
	var at int64
	err := s.c.R.QueryRowContext(ctx, `SELECT subject_hash, public_key, enrolled_at FROM fl_devices WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&d.SubjectHash, &d.PublicKey, &at)
	d.EnrolledAt = sqlstore.FromUnix(at)
	return d, s.c.Classify("fl device", err)
}

// FLDevicesOf implements store.FL.
func (s *Generators) FLDevicesOf(ctx context.Context, tenant, subjectHash string) ([]store.FLDevice, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT id, public_key, enrolled_at FROM fl_devices WHERE tenant_id = ? AND subject_hash = ? ORDER BY id`, tenant, subjectHash)
	if err != nil {
		return nil, s.c.Classify("fl devices", err)
	}
	defer rows.Close()
	var out []store.FLDevice
	for rows.Next() {
		d := store.FLDevice{Tenant: tenant, SubjectHash: subjectHash}
		var at int64
		if err := rows.Scan(&d.ID, &d.PublicKey, &at); err != nil {
			return nil, s.c.Classify("fl devices", err)
		}
		d.EnrolledAt = sqlstore.FromUnix(at)
		out = append(out, d)
	}
	return out, s.c.Classify("fl devices", rows.Err())
}

// DeleteFLDevices implements store.FL.
func (s *Generators) DeleteFLDevices(ctx context.Context, tenant, subjectHash string) (int, error) {
	res, err := s.c.W.ExecContext(ctx, `DELETE FROM fl_devices WHERE tenant_id = ? AND subject_hash = ?`, tenant, subjectHash)
	if err != nil {
		return 0, s.c.Classify("delete fl devices", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreateFLTask implements store.FL.
func (s *Generators) CreateFLTask(ctx context.Context, t store.FLTask) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO fl_tasks(tenant_id, id, config, canary, created_at) VALUES (?,?,?,?,?)`,
		t.Tenant, t.ID, t.Config, t.Canary, sqlstore.Unix(t.CreatedAt))
	return s.c.Classify("create fl task", err)
}

// FLTask implements store.FL.
func (s *Generators) FLTask(ctx context.Context, tenant, id string) (store.FLTask, error) {
	t := store.FLTask{Tenant: tenant, ID: id}
	var at int64
	err := s.c.R.QueryRowContext(ctx, `SELECT config, canary, created_at, rounds, rho_spent FROM fl_tasks WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&t.Config, &t.Canary, &at, &t.Rounds, &t.RhoSpent)
	t.CreatedAt = sqlstore.FromUnix(at)
	return t, s.c.Classify("fl task", err)
}

// RecordFLRound implements store.FL.
func (s *Generators) RecordFLRound(ctx context.Context, r store.FLRound, v *store.FLVersion) error {
	parts, err := json.Marshal(r.Participants)
	if err != nil {
		return fmt.Errorf("fl round participants: %w", err)
	}
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("record fl round", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE fl_tasks SET rounds = rounds + 1, rho_spent = rho_spent + ? WHERE tenant_id = ? AND id = ?`, r.Rho, r.Tenant, r.Task)
	if err != nil {
		return s.c.Classify("record fl round", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fault.New(fault.NotFound, "fl task not found")
	}
	res, err = tx.ExecContext(ctx, `UPDATE fl_rounds SET participants = ?, survivors = ?, rho = ?, outcome = ?, canary_before = ?, canary_after = ?, version = ?, at = ? WHERE tenant_id = ? AND task_id = ? AND number = ? AND outcome = 'open'`,
		string(parts), r.Survivors, r.Rho, r.Outcome, r.CanaryBefore, r.CanaryAfter, r.Version, sqlstore.Unix(r.At), r.Tenant, r.Task, r.Number)
	if err != nil {
		return s.c.Classify("record fl round", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fl_rounds(tenant_id, task_id, number, participants, survivors, rho, outcome, canary_before, canary_after, version, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			r.Tenant, r.Task, r.Number, string(parts), r.Survivors, r.Rho, r.Outcome, r.CanaryBefore, r.CanaryAfter, r.Version, sqlstore.Unix(r.At)); err != nil {
			return s.c.Classify("record fl round", err)
		}
	}
	if v != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE fl_versions SET current = false WHERE tenant_id = ? AND task_id = ?`, v.Tenant, v.Task); err != nil {
			return s.c.Classify("record fl version", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fl_versions(tenant_id, task_id, number, sha256, artefact, current, created_at) VALUES (?,?,?,?,?,true,?)`,
			v.Tenant, v.Task, v.Number, v.SHA256, v.Artefact, sqlstore.Unix(v.CreatedAt)); err != nil {
			return s.c.Classify("record fl version", err)
		}
	}
	return s.c.Classify("record fl round", tx.Commit())
}

// FLRounds implements store.FL.
func (s *Generators) FLRounds(ctx context.Context, tenant, task string) ([]store.FLRound, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT number, participants, survivors, rho, outcome, canary_before, canary_after, version, at FROM fl_rounds WHERE tenant_id = ? AND task_id = ? ORDER BY number`, tenant, task)
	if err != nil {
		return nil, s.c.Classify("fl rounds", err)
	}
	defer rows.Close()
	var out []store.FLRound
	for rows.Next() {
		r := store.FLRound{Tenant: tenant, Task: task}
		var parts string
		var at int64
		if err := rows.Scan(&r.Number, &parts, &r.Survivors, &r.Rho, &r.Outcome, &r.CanaryBefore, &r.CanaryAfter, &r.Version, &at); err != nil {
			return nil, s.c.Classify("fl rounds", err)
		}
		if err := json.Unmarshal([]byte(parts), &r.Participants); err != nil {
			return nil, fmt.Errorf("fl round participants: %w", err)
		}
		r.At = sqlstore.FromUnix(at)
		out = append(out, r)
	}
	return out, s.c.Classify("fl rounds", rows.Err())
}

// FLVersions implements store.FL.
func (s *Generators) FLVersions(ctx context.Context, tenant, task string) ([]store.FLVersion, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT number, sha256, artefact, current, created_at FROM fl_versions WHERE tenant_id = ? AND task_id = ? ORDER BY number`, tenant, task)
	if err != nil {
		return nil, s.c.Classify("fl versions", err)
	}
	defer rows.Close()
	var out []store.FLVersion
	for rows.Next() {
		v := store.FLVersion{Tenant: tenant, Task: task}
		var at int64
		if err := rows.Scan(&v.Number, &v.SHA256, &v.Artefact, &v.Current, &at); err != nil {
			return nil, s.c.Classify("fl versions", err)
		}
		v.CreatedAt = sqlstore.FromUnix(at)
		out = append(out, v)
	}
	return out, s.c.Classify("fl versions", rows.Err())
}

// SetFLCurrent implements store.FL.
func (s *Generators) SetFLCurrent(ctx context.Context, tenant, task string, number int) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("set fl current", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.c.MultiWriter() {
		// The task's row lock, which RecordFLRound also takes first: a
		// version published concurrently cannot end up current beside
		// this one.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM fl_tasks WHERE tenant_id = ? AND id = ? FOR UPDATE`, tenant, task); err != nil {
			return s.c.Classify("set fl current", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM fl_versions WHERE tenant_id = ? AND task_id = ? AND number = ?`, tenant, task, number).Scan(&n); err != nil {
		return s.c.Classify("set fl current", err)
	}
	if n != 1 {
		return fault.New(fault.NotFound, "fl model version not found")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fl_versions SET current = (number = ?) WHERE tenant_id = ? AND task_id = ?`, number, tenant, task); err != nil {
		return s.c.Classify("set fl current", err)
	}
	return s.c.Classify("set fl current", tx.Commit())
}
