package genstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// OpenFLRound implements store.FL.
func (s *Generators) OpenFLRound(ctx context.Context, r store.FLRound) error {
	parts, err := json.Marshal(r.Participants)
	if err != nil {
		return fmt.Errorf("fl round participants: %w", err)
	}
	_, err = s.c.W.ExecContext(ctx, `INSERT INTO fl_rounds(tenant_id, task_id, number, participants, survivors, rho, outcome, canary_before, canary_after, version, at) VALUES (?,?,?,?,0,0,'open',0,0,?,?)`,
		r.Tenant, r.Task, r.Number, string(parts), r.Version, sqlstore.Unix(r.At))
	return s.c.Classify("open fl round", err)
}

// AbortOpenFLRounds implements store.FL.
func (s *Generators) AbortOpenFLRounds(ctx context.Context, at time.Time) ([]store.FLRound, error) {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.c.Classify("abort open fl rounds", err)
	}
	defer func() { _ = tx.Rollback() }()
	q := `SELECT tenant_id, task_id, number, participants FROM fl_rounds WHERE outcome = 'open' ORDER BY tenant_id, task_id, number`
	if s.c.MultiWriter() {
		// Tasks first, then rounds: the order RecordFLRound locks them
		// in, so the two cannot deadlock.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM fl_tasks WHERE (tenant_id, id) IN (SELECT tenant_id, task_id FROM fl_rounds WHERE outcome = 'open') ORDER BY tenant_id, id FOR UPDATE`); err != nil {
			return nil, s.c.Classify("abort open fl rounds", err)
		}
		q += ` FOR UPDATE`
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, s.c.Classify("abort open fl rounds", err)
	}
	var out []store.FLRound
	for rows.Next() {
		var r store.FLRound
		var parts string
		if err := rows.Scan(&r.Tenant, &r.Task, &r.Number, &parts); err != nil {
			rows.Close()
			return nil, s.c.Classify("abort open fl rounds", err)
		}
		if err := json.Unmarshal([]byte(parts), &r.Participants); err != nil {
			rows.Close()
			return nil, fmt.Errorf("fl round participants: %w", err)
		}
		r.Outcome, r.At = "aborted", at
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.c.Classify("abort open fl rounds", err)
	}
	for _, r := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE fl_rounds SET outcome = 'aborted', rho = 0, at = ? WHERE tenant_id = ? AND task_id = ? AND number = ?`, sqlstore.Unix(at), r.Tenant, r.Task, r.Number); err != nil {
			return nil, s.c.Classify("abort open fl rounds", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE fl_tasks SET rounds = rounds + 1 WHERE tenant_id = ? AND id = ?`, r.Tenant, r.Task); err != nil {
			return nil, s.c.Classify("abort open fl rounds", err)
		}
	}
	return out, s.c.Classify("abort open fl rounds", tx.Commit())
}
