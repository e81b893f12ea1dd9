package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

var _ store.FL = (*Store)(nil)

// EnrollFLDevice implements store.FL.
func (s *Store) EnrollFLDevice(ctx context.Context, d store.FLDevice) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO fl_devices(tenant_id, id, subject_hash, public_key, enrolled_at) VALUES (?,?,?,?,?)`,
		d.Tenant, d.ID, d.SubjectHash, d.PublicKey, unix(d.EnrolledAt))
	return s.classify("enroll fl device", err)
}

// FLDevice implements store.FL.
func (s *Store) FLDevice(ctx context.Context, tenant, id string) (store.FLDevice, error) {
	d := store.FLDevice{Tenant: tenant, ID: id}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT subject_hash, public_key, enrolled_at FROM fl_devices WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&d.SubjectHash, &d.PublicKey, &at)
	d.EnrolledAt = fromUnix(at)
	return d, s.classify("fl device", err)
}

// FLDevicesOf implements store.FL.
func (s *Store) FLDevicesOf(ctx context.Context, tenant, subjectHash string) ([]store.FLDevice, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, public_key, enrolled_at FROM fl_devices WHERE tenant_id = ? AND subject_hash = ? ORDER BY id`, tenant, subjectHash)
	if err != nil {
		return nil, s.classify("fl devices", err)
	}
	defer rows.Close()
	var out []store.FLDevice
	for rows.Next() {
		d := store.FLDevice{Tenant: tenant, SubjectHash: subjectHash}
		var at int64
		if err := rows.Scan(&d.ID, &d.PublicKey, &at); err != nil {
			return nil, s.classify("fl devices", err)
		}
		d.EnrolledAt = fromUnix(at)
		out = append(out, d)
	}
	return out, s.classify("fl devices", rows.Err())
}

// DeleteFLDevices implements store.FL.
func (s *Store) DeleteFLDevices(ctx context.Context, tenant, subjectHash string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM fl_devices WHERE tenant_id = ? AND subject_hash = ?`, tenant, subjectHash)
	if err != nil {
		return 0, s.classify("delete fl devices", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreateFLTask implements store.FL.
func (s *Store) CreateFLTask(ctx context.Context, t store.FLTask) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO fl_tasks(tenant_id, id, config, canary, created_at) VALUES (?,?,?,?,?)`,
		t.Tenant, t.ID, t.Config, t.Canary, unix(t.CreatedAt))
	return s.classify("create fl task", err)
}

// FLTask implements store.FL.
func (s *Store) FLTask(ctx context.Context, tenant, id string) (store.FLTask, error) {
	t := store.FLTask{Tenant: tenant, ID: id}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT config, canary, created_at, rounds, rho_spent FROM fl_tasks WHERE tenant_id = ? AND id = ?`, tenant, id).
		Scan(&t.Config, &t.Canary, &at, &t.Rounds, &t.RhoSpent)
	t.CreatedAt = fromUnix(at)
	return t, s.classify("fl task", err)
}

// RecordFLRound implements store.FL.
func (s *Store) RecordFLRound(ctx context.Context, r store.FLRound, v *store.FLVersion) error {
	parts, err := json.Marshal(r.Participants)
	if err != nil {
		return fmt.Errorf("fl round participants: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("record fl round", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE fl_tasks SET rounds = rounds + 1, rho_spent = rho_spent + ? WHERE tenant_id = ? AND id = ?`, r.Rho, r.Tenant, r.Task)
	if err != nil {
		return s.classify("record fl round", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fault.New(fault.NotFound, "fl task not found")
	}
	res, err = tx.ExecContext(ctx, `UPDATE fl_rounds SET participants = ?, survivors = ?, rho = ?, outcome = ?, canary_before = ?, canary_after = ?, version = ?, at = ? WHERE tenant_id = ? AND task_id = ? AND number = ? AND outcome = 'open'`,
		string(parts), r.Survivors, r.Rho, r.Outcome, r.CanaryBefore, r.CanaryAfter, r.Version, unix(r.At), r.Tenant, r.Task, r.Number)
	if err != nil {
		return s.classify("record fl round", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fl_rounds(tenant_id, task_id, number, participants, survivors, rho, outcome, canary_before, canary_after, version, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			r.Tenant, r.Task, r.Number, string(parts), r.Survivors, r.Rho, r.Outcome, r.CanaryBefore, r.CanaryAfter, r.Version, unix(r.At)); err != nil {
			return s.classify("record fl round", err)
		}
	}
	if v != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE fl_versions SET current = false WHERE tenant_id = ? AND task_id = ?`, v.Tenant, v.Task); err != nil {
			return s.classify("record fl version", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fl_versions(tenant_id, task_id, number, sha256, artefact, current, created_at) VALUES (?,?,?,?,?,true,?)`,
			v.Tenant, v.Task, v.Number, v.SHA256, v.Artefact, unix(v.CreatedAt)); err != nil {
			return s.classify("record fl version", err)
		}
	}
	return s.classify("record fl round", tx.Commit())
}

// FLRounds implements store.FL.
func (s *Store) FLRounds(ctx context.Context, tenant, task string) ([]store.FLRound, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT number, participants, survivors, rho, outcome, canary_before, canary_after, version, at FROM fl_rounds WHERE tenant_id = ? AND task_id = ? ORDER BY number`, tenant, task)
	if err != nil {
		return nil, s.classify("fl rounds", err)
	}
	defer rows.Close()
	var out []store.FLRound
	for rows.Next() {
		r := store.FLRound{Tenant: tenant, Task: task}
		var parts string
		var at int64
		if err := rows.Scan(&r.Number, &parts, &r.Survivors, &r.Rho, &r.Outcome, &r.CanaryBefore, &r.CanaryAfter, &r.Version, &at); err != nil {
			return nil, s.classify("fl rounds", err)
		}
		if err := json.Unmarshal([]byte(parts), &r.Participants); err != nil {
			return nil, fmt.Errorf("fl round participants: %w", err)
		}
		r.At = fromUnix(at)
		out = append(out, r)
	}
	return out, s.classify("fl rounds", rows.Err())
}

// FLVersions implements store.FL.
func (s *Store) FLVersions(ctx context.Context, tenant, task string) ([]store.FLVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT number, sha256, artefact, current, created_at FROM fl_versions WHERE tenant_id = ? AND task_id = ? ORDER BY number`, tenant, task)
	if err != nil {
		return nil, s.classify("fl versions", err)
	}
	defer rows.Close()
	var out []store.FLVersion
	for rows.Next() {
		v := store.FLVersion{Tenant: tenant, Task: task}
		var at int64
		if err := rows.Scan(&v.Number, &v.SHA256, &v.Artefact, &v.Current, &at); err != nil {
			return nil, s.classify("fl versions", err)
		}
		v.CreatedAt = fromUnix(at)
		out = append(out, v)
	}
	return out, s.classify("fl versions", rows.Err())
}

// SetFLCurrent implements store.FL.
func (s *Store) SetFLCurrent(ctx context.Context, tenant, task string, number int) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("set fl current", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.multiWriter() {
		// The task's row lock, which RecordFLRound also takes first: a
		// version published concurrently cannot end up current beside
		// this one.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM fl_tasks WHERE tenant_id = ? AND id = ? FOR UPDATE`, tenant, task); err != nil {
			return s.classify("set fl current", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM fl_versions WHERE tenant_id = ? AND task_id = ? AND number = ?`, tenant, task, number).Scan(&n); err != nil {
		return s.classify("set fl current", err)
	}
	if n != 1 {
		return fault.New(fault.NotFound, "fl model version not found")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fl_versions SET current = (number = ?) WHERE tenant_id = ? AND task_id = ?`, number, tenant, task); err != nil {
		return s.classify("set fl current", err)
	}
	return s.classify("set fl current", tx.Commit())
}
