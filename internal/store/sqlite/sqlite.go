// Package sqlite is the embedded store backend: one SQLite database file in
// WAL mode, driven by the pure-Go modernc.org/sqlite driver, with embedded
// goose migrations.
//
// Writes go through a single connection (SQLite allows one writer; a pool of
// writers would only contend on the lock), reads through a small pool.
// secure_delete is on so that deleted rows (revoked or destroyed key
// material) are overwritten in the database file, and destroying key
// material truncates the WAL so no copy of the old page survives there.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // readers
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	pragmas := []string{
		"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)",
		"synchronous(FULL)", "secure_delete(1)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &Store{w: w, r: r}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fault.Wrap(fault.Unavailable, "database migration failed", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.w.Close(), s.r.Close())
}

// Ping checks that the database answers reads and writes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fault.Wrap(fault.Unavailable, "store unavailable", err)
	}
	return nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// classify turns driver errors into fault kinds.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fault.Wrap(fault.NotFound, "not found", fmt.Errorf("%s: %w", op, err))
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_CONSTRAINT:
			return fault.Wrap(fault.Conflict, "already exists", fmt.Errorf("%s: %w", op, err))
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_CANTOPEN:
			return fault.Wrap(fault.Unavailable, "store unavailable", fmt.Errorf("%s: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// CreateTenant implements store.Tenants.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, first store.APIKey) error {
	if first.TenantID != t.ID {
		return fault.New(fault.Invalid, "first key belongs to another tenant")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("create tenant", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants(id, name, created_at, min_kek_version) VALUES (?,?,?,0)`,
		t.ID, t.Name, unix(t.CreatedAt)); err != nil {
		return classify("create tenant", err)
	}
	if err := insertKey(ctx, tx, first); err != nil {
		return err
	}
	return classify("create tenant", tx.Commit())
}

// Tenant implements store.Tenants.
func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at, min_kek_version FROM tenants WHERE id = ?`, id).
		Scan(&t.ID, &t.Name, &created, &t.MinKEKVersion)
	if err != nil {
		return store.Tenant{}, classify("tenant", err)
	}
	t.CreatedAt = fromUnix(created)
	return t, nil
}

// Tenants implements store.Tenants.
func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, created_at, min_kek_version FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, classify("tenants", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		var t store.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created, &t.MinKEKVersion); err != nil {
			return nil, classify("tenants", err)
		}
		t.CreatedAt = fromUnix(created)
		out = append(out, t)
	}
	return out, classify("tenants", rows.Err())
}

// SetMinKEKVersion implements store.Tenants.
func (s *Store) SetMinKEKVersion(ctx context.Context, tenantID string, v int) error {
	return s.execOne(ctx, "set min kek version", `UPDATE tenants SET min_kek_version = ? WHERE id = ?`, v, tenantID)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertKey(ctx context.Context, db execer, k store.APIKey) error {
	_, err := db.ExecContext(ctx, `INSERT INTO api_keys(id, tenant_id, scopes, secret_hash, created_at, revoked_at) VALUES (?,?,?,?,?,?)`,
		k.ID, k.TenantID, strings.Join(k.Scopes, " "), k.SecretHash, unix(k.CreatedAt), unix(k.RevokedAt))
	return classify("create api key", err)
}

// CreateAPIKey implements store.APIKeys.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if _, err := s.Tenant(ctx, k.TenantID); err != nil {
		return err
	}
	return insertKey(ctx, s.w, k)
}

const keyCols = `id, tenant_id, scopes, secret_hash, created_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created, revoked int64
	if err := row.Scan(&k.ID, &k.TenantID, &scopes, &k.SecretHash, &created, &revoked); err != nil {
		return store.APIKey{}, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.RevokedAt = fromUnix(created), fromUnix(revoked)
	return k, nil
}

// APIKeyForAuth implements store.APIKeys.
func (s *Store) APIKeyForAuth(ctx context.Context, keyID string) (store.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, keyID))
	return k, classify("api key", err)
}

// APIKey implements store.APIKeys.
func (s *Store) APIKey(ctx context.Context, tenantID, keyID string) (store.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? AND id = ?`, tenantID, keyID))
	return k, classify("api key", err)
}

// APIKeys implements store.APIKeys.
func (s *Store) APIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, classify("list api keys", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, classify("list api keys", err)
		}
		out = append(out, k)
	}
	return out, classify("list api keys", rows.Err())
}

// RevokeAPIKey implements store.APIKeys.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at = 0`,
		unix(at), tenantID, keyID); err != nil {
		return classify("revoke api key", err)
	}
	_, err := s.APIKey(ctx, tenantID, keyID)
	return err
}

func (s *Store) execOne(ctx context.Context, op, q string, args ...any) error {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return classify(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(op, err)
	}
	if n == 0 {
		return fault.New(fault.NotFound, "not found")
	}
	return nil
}

// CreateKEKVersion implements store.Keys.
func (s *Store) CreateKEKVersion(ctx context.Context, v store.KEKVersion) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO kek_versions(tenant_id, version, state, created_at, keyset) VALUES (?,?,?,?,?)`,
		v.TenantID, v.Version, string(v.State), unix(v.CreatedAt), v.Keyset)
	return classify("create kek version", err)
}

// KEKVersions implements store.Keys.
func (s *Store) KEKVersions(ctx context.Context, tenantID string) ([]store.KEKVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant_id, version, state, created_at, keyset FROM kek_versions WHERE tenant_id = ? ORDER BY version`, tenantID)
	if err != nil {
		return nil, classify("kek versions", err)
	}
	defer rows.Close()
	var out []store.KEKVersion
	for rows.Next() {
		var v store.KEKVersion
		var state string
		var created int64
		if err := rows.Scan(&v.TenantID, &v.Version, &state, &created, &v.Keyset); err != nil {
			return nil, classify("kek versions", err)
		}
		v.State, v.CreatedAt = store.KEKState(state), fromUnix(created)
		out = append(out, v)
	}
	return out, classify("kek versions", rows.Err())
}

// SetKEKState implements store.Keys.
func (s *Store) SetKEKState(ctx context.Context, tenantID string, version int, st store.KEKState) error {
	return s.execOne(ctx, "set kek state", `UPDATE kek_versions SET state = ? WHERE tenant_id = ? AND version = ?`, string(st), tenantID, version)
}

const scopeCols = `id, tenant_id, subject_hash, purpose, kek_version, wrapped, created_at`

func scanScope(row interface{ Scan(...any) error }) (store.ScopeKey, error) {
	var k store.ScopeKey
	var created int64
	if err := row.Scan(&k.ID, &k.TenantID, &k.SubjectHash, &k.Purpose, &k.KEKVersion, &k.Wrapped, &created); err != nil {
		return store.ScopeKey{}, err
	}
	k.CreatedAt = fromUnix(created)
	return k, nil
}

// CreateScopeKey implements store.Keys.
func (s *Store) CreateScopeKey(ctx context.Context, k store.ScopeKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO scope_keys(`+scopeCols+`) VALUES (?,?,?,?,?,?,?)`,
		k.ID, k.TenantID, k.SubjectHash, k.Purpose, k.KEKVersion, k.Wrapped, unix(k.CreatedAt))
	return classify("create scope key", err)
}

// ScopeKey implements store.Keys.
func (s *Store) ScopeKey(ctx context.Context, tenantID, subjectHash, purpose string) (store.ScopeKey, error) {
	k, err := scanScope(s.r.QueryRowContext(ctx, `SELECT `+scopeCols+` FROM scope_keys WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`,
		tenantID, subjectHash, purpose))
	return k, classify("scope key", err)
}

// DestroyScopeKeys implements store.Keys. With secure_delete on, the rows'
// bytes are zeroed in the database pages; the WAL is then checkpointed and
// truncated so the old pages do not survive there either.
func (s *Store) DestroyScopeKeys(ctx context.Context, tenantID, subjectHash, purpose string) (int, error) {
	q, args := `DELETE FROM scope_keys WHERE tenant_id = ? AND subject_hash = ?`, []any{tenantID, subjectHash}
	if purpose != "*" {
		q, args = q+` AND purpose = ?`, append(args, purpose)
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, classify("destroy scope keys", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, classify("destroy scope keys", err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return int(n), classify("checkpoint after destroy", err)
	}
	return int(n), nil
}

// ScopeKeysBelow implements store.Keys.
func (s *Store) ScopeKeysBelow(ctx context.Context, tenantID string, version int, afterID string, limit int) ([]store.ScopeKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+scopeCols+` FROM scope_keys WHERE tenant_id = ? AND kek_version < ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, version, afterID, limit)
	if err != nil {
		return nil, classify("scope keys below", err)
	}
	defer rows.Close()
	var out []store.ScopeKey
	for rows.Next() {
		k, err := scanScope(rows)
		if err != nil {
			return nil, classify("scope keys below", err)
		}
		out = append(out, k)
	}
	return out, classify("scope keys below", rows.Err())
}

// RewrapScopeKey implements store.Keys.
func (s *Store) RewrapScopeKey(ctx context.Context, tenantID, id string, fromVersion, toVersion int, wrapped []byte) error {
	err := s.execOne(ctx, "rewrap scope key", `UPDATE scope_keys SET kek_version = ?, wrapped = ? WHERE tenant_id = ? AND id = ? AND kek_version = ?`,
		toVersion, wrapped, tenantID, id, fromVersion)
	if errors.Is(err, fault.NotFound) {
		return fault.New(fault.Conflict, "scope key changed concurrently")
	}
	return err
}

// SystemKeyset implements store.Keys.
func (s *Store) SystemKeyset(ctx context.Context, name string) ([]byte, error) {
	var ks []byte
	err := s.r.QueryRowContext(ctx, `SELECT keyset FROM system_keysets WHERE name = ?`, name).Scan(&ks)
	return ks, classify("system keyset", err)
}

// CreateSystemKeyset implements store.Keys.
func (s *Store) CreateSystemKeyset(ctx context.Context, name string, keyset []byte, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO system_keysets(name, keyset, created_at) VALUES (?,?,?)`, name, keyset, unix(at))
	return classify("create system keyset", err)
}

// CreateUpload implements store.Assets.
func (s *Store) CreateUpload(ctx context.Context, u store.Upload) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO uploads(id, tenant_id, subject_hash, created_at, expires_at) VALUES (?,?,?,?,?)`,
		u.ID, u.TenantID, u.SubjectHash, unix(u.CreatedAt), unix(u.ExpiresAt))
	return classify("create upload", err)
}

// consumeOnce flips used_at from 0 in one statement, so exactly one caller wins.
func (s *Store) consumeOnce(ctx context.Context, table, tenantID, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE `+table+` SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at = 0`, unix(at), tenantID, id)
	if err != nil {
		return classify("consume "+table, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var used int64
	err = s.w.QueryRowContext(ctx, `SELECT used_at FROM `+table+` WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&used)
	if err != nil {
		return classify("consume "+table, err)
	}
	return fault.New(fault.Conflict, "already used")
}

// ConsumeUpload implements store.Assets.
func (s *Store) ConsumeUpload(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.consumeOnce(ctx, "uploads", tenantID, id, at)
}

// CreateAsset implements store.Assets.
func (s *Store) CreateAsset(ctx context.Context, a store.Asset) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO assets(id, tenant_id, subject_hash, format, width, height, size, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.TenantID, a.SubjectHash, a.Format, a.Width, a.Height, a.Size, unix(a.CreatedAt))
	return classify("create asset", err)
}

const assetCols = `id, tenant_id, subject_hash, format, width, height, size, created_at`

func scanAsset(row interface{ Scan(...any) error }) (store.Asset, error) {
	var a store.Asset
	var created int64
	if err := row.Scan(&a.ID, &a.TenantID, &a.SubjectHash, &a.Format, &a.Width, &a.Height, &a.Size, &created); err != nil {
		return store.Asset{}, err
	}
	a.CreatedAt = fromUnix(created)
	return a, nil
}

// Asset implements store.Assets.
func (s *Store) Asset(ctx context.Context, tenantID, id string) (store.Asset, error) {
	a, err := scanAsset(s.r.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, classify("asset", err)
}

// SubjectAssets implements store.Assets.
func (s *Store) SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
	if err != nil {
		return nil, classify("subject assets", err)
	}
	defer rows.Close()
	var out []store.Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, classify("subject assets", err)
		}
		out = append(out, a)
	}
	return out, classify("subject assets", rows.Err())
}

// DeleteSubjectAssets implements store.Assets.
func (s *Store) DeleteSubjectAssets(ctx context.Context, tenantID, subjectHash string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("delete subject assets", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM assets WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM uploads WHERE tenant_id = ? AND subject_hash = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, subjectHash); err != nil {
			return classify("delete subject assets", err)
		}
	}
	return classify("delete subject assets", tx.Commit())
}

// RecordConsent implements store.Consents.
func (s *Store) RecordConsent(ctx context.Context, tenantID, subjectHash string, build func(prevHash string) (store.ConsentChange, error)) error {
	tx, err := s.w.BeginTx(ctx, nil) // _txlock=immediate: the write lock is taken now
	if err != nil {
		return classify("record consent", err)
	}
	defer tx.Rollback()
	var prev string
	seq := 0
	err = tx.QueryRowContext(ctx, `SELECT hash, seq FROM receipts WHERE tenant_id = ? AND subject_hash = ? ORDER BY seq DESC LIMIT 1`, tenantID, subjectHash).Scan(&prev, &seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return classify("record consent", err)
	}
	ch, err := build(prev)
	if err != nil {
		return err
	}
	c := ch.Consent
	if _, err := tx.ExecContext(ctx, `INSERT INTO receipts(tenant_id, subject_hash, seq, hash, body) VALUES (?,?,?,?,?)`,
		tenantID, subjectHash, seq+1, ch.Receipt.Hash, ch.Receipt.Body); err != nil {
		return classify("record consent", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consents(tenant_id, subject_hash, purpose, state, notice_version, updated_at, expires_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(tenant_id, subject_hash, purpose) DO UPDATE SET state = excluded.state, notice_version = excluded.notice_version, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
		tenantID, subjectHash, c.Purpose, c.State, c.Notice, unix(c.UpdatedAt), unix(c.ExpiresAt)); err != nil {
		return classify("record consent", err)
	}
	if ch.Purge {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO purges(tenant_id, subject_hash, purpose, created_at) VALUES (?,?,?,?)`,
			tenantID, subjectHash, c.Purpose, unix(c.UpdatedAt)); err != nil {
			return classify("record consent", err)
		}
	}
	return classify("record consent", tx.Commit())
}

const consentCols = `tenant_id, subject_hash, purpose, state, notice_version, updated_at, expires_at`

func scanConsent(row interface{ Scan(...any) error }) (store.Consent, error) {
	var c store.Consent
	var up, exp int64
	if err := row.Scan(&c.TenantID, &c.SubjectHash, &c.Purpose, &c.State, &c.Notice, &up, &exp); err != nil {
		return store.Consent{}, err
	}
	c.UpdatedAt, c.ExpiresAt = fromUnix(up), fromUnix(exp)
	return c, nil
}

// Consent implements store.Consents.
func (s *Store) Consent(ctx context.Context, tenantID, subjectHash, purpose string) (store.Consent, error) {
	c, err := scanConsent(s.r.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`, tenantID, subjectHash, purpose))
	return c, classify("consent", err)
}

// Consents implements store.Consents.
func (s *Store) Consents(ctx context.Context, tenantID, subjectHash string) ([]store.Consent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+consentCols+` FROM consents WHERE tenant_id = ? AND subject_hash = ? ORDER BY purpose`, tenantID, subjectHash)
	if err != nil {
		return nil, classify("consents", err)
	}
	defer rows.Close()
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, classify("consents", err)
		}
		out = append(out, c)
	}
	return out, classify("consents", rows.Err())
}

// Receipts implements store.Consents.
func (s *Store) Receipts(ctx context.Context, tenantID, subjectHash string) ([]store.ReceiptRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant_id, subject_hash, seq, hash, body FROM receipts WHERE tenant_id = ? AND subject_hash = ? ORDER BY seq`, tenantID, subjectHash)
	if err != nil {
		return nil, classify("receipts", err)
	}
	defer rows.Close()
	var out []store.ReceiptRecord
	for rows.Next() {
		var r store.ReceiptRecord
		if err := rows.Scan(&r.TenantID, &r.SubjectHash, &r.Seq, &r.Hash, &r.Body); err != nil {
			return nil, classify("receipts", err)
		}
		out = append(out, r)
	}
	return out, classify("receipts", rows.Err())
}

// PendingPurges implements store.Consents.
func (s *Store) PendingPurges(ctx context.Context) ([]store.Purge, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant_id, subject_hash, purpose, created_at FROM purges ORDER BY created_at`)
	if err != nil {
		return nil, classify("pending purges", err)
	}
	defer rows.Close()
	var out []store.Purge
	for rows.Next() {
		var p store.Purge
		var created int64
		if err := rows.Scan(&p.TenantID, &p.SubjectHash, &p.Purpose, &created); err != nil {
			return nil, classify("pending purges", err)
		}
		p.CreatedAt = fromUnix(created)
		out = append(out, p)
	}
	return out, classify("pending purges", rows.Err())
}

// FinishPurge implements store.Consents.
func (s *Store) FinishPurge(ctx context.Context, tenantID, subjectHash, purpose string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM purges WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`, tenantID, subjectHash, purpose)
	return classify("finish purge", err)
}

// DeleteConsents implements store.Consents.
func (s *Store) DeleteConsents(ctx context.Context, tenantID, subjectHash string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM consents WHERE tenant_id = ? AND subject_hash = ?`, tenantID, subjectHash)
	return classify("delete consents", err)
}

// DeleteAsset implements store.Assets.
func (s *Store) DeleteAsset(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete asset", `DELETE FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// CreateDownload implements store.Assets.
func (s *Store) CreateDownload(ctx context.Context, d store.Download) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO downloads(id, tenant_id, asset_id, expires_at) VALUES (?,?,?,?)`, d.ID, d.TenantID, d.AssetID, unix(d.ExpiresAt))
	return classify("create download", err)
}

// ConsumeDownload implements store.Assets.
func (s *Store) ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (store.Download, error) {
	if err := s.consumeOnce(ctx, "downloads", tenantID, id, at); err != nil {
		return store.Download{}, err
	}
	var d store.Download
	var exp int64
	err := s.w.QueryRowContext(ctx, `SELECT id, tenant_id, asset_id, expires_at FROM downloads WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&d.ID, &d.TenantID, &d.AssetID, &exp)
	d.ExpiresAt = fromUnix(exp)
	return d, classify("download", err)
}

// AppendAudit implements store.Audit.
func (s *Store) AppendAudit(ctx context.Context, build func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("append audit", err)
	}
	defer tx.Rollback()
	var seq int64
	var hash string
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return classify("append audit", err)
	}
	recs, cp, err := build(seq, hash)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit(seq, tenant_id, hash, body) VALUES (?,?,?,?)`, r.Seq, r.TenantID, r.Hash, r.Body); err != nil {
			return classify("append audit", err)
		}
	}
	if cp != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints(seq, hash, time, signature) VALUES (?,?,?,?)`, cp.Seq, cp.Hash, cp.Time, cp.Signature); err != nil {
			return classify("append audit checkpoint", err)
		}
	}
	return classify("append audit", tx.Commit())
}

// AuditRange implements store.Audit.
func (s *Store) AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error) {
	q, args := `SELECT seq, tenant_id, hash, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, []any{after, limit}
	if tenantID != "" {
		q, args = `SELECT seq, tenant_id, hash, body FROM audit WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, []any{tenantID, after, limit}
	}
	return s.auditRecords(ctx, "audit range", q, args...)
}

// AuditTail implements store.Audit.
func (s *Store) AuditTail(ctx context.Context, tenantID string, before int64, limit int) ([]store.AuditRecord, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	q, args := `SELECT seq, tenant_id, hash, body FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?`, []any{before, limit}
	if tenantID != "" {
		q, args = `SELECT seq, tenant_id, hash, body FROM audit WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, []any{tenantID, before, limit}
	}
	return s.auditRecords(ctx, "audit tail", q, args...)
}

// auditRecords runs an audit query selecting seq, tenant_id, hash, body.
func (s *Store) auditRecords(ctx context.Context, op, q string, args ...any) ([]store.AuditRecord, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		if err := rows.Scan(&r.Seq, &r.TenantID, &r.Hash, &r.Body); err != nil {
			return nil, classify(op, err)
		}
		out = append(out, r)
	}
	return out, classify(op, rows.Err())
}

// AuditCheckpoints implements store.Audit.
func (s *Store) AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, classify("audit checkpoints", err)
	}
	defer rows.Close()
	var out []store.AuditCheckpoint
	for rows.Next() {
		var c store.AuditCheckpoint
		if err := rows.Scan(&c.Seq, &c.Hash, &c.Time, &c.Signature); err != nil {
			return nil, classify("audit checkpoints", err)
		}
		out = append(out, c)
	}
	return out, classify("audit checkpoints", rows.Err())
}

// SetKillSwitch implements store.KillSwitches.
func (s *Store) SetKillSwitch(ctx context.Context, scope string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.w.ExecContext(ctx, `INSERT OR IGNORE INTO kill_switches(scope, created_at) VALUES (?, ?)`, scope, unix(at))
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM kill_switches WHERE scope = ?`, scope)
	}
	return classify("set kill switch", err)
}

// KillSwitches implements store.KillSwitches.
func (s *Store) KillSwitches(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT scope FROM kill_switches ORDER BY scope`)
	if err != nil {
		return nil, classify("kill switches", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sc string
		if err := rows.Scan(&sc); err != nil {
			return nil, classify("kill switches", err)
		}
		out = append(out, sc)
	}
	return out, classify("kill switches", rows.Err())
}

// CreateAlert implements store.Alerts.
func (s *Store) CreateAlert(ctx context.Context, a store.Alert) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO alerts(id, time, rule, severity, tenant_id, detail) VALUES (?,?,?,?,?,?)`,
		a.ID, unix(a.Time), a.Rule, a.Severity, a.TenantID, a.Detail)
	return classify("create alert", err)
}

// Alerts implements store.Alerts.
func (s *Store) Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error) {
	q, args := `SELECT id, time, rule, severity, tenant_id, detail FROM alerts ORDER BY time DESC, id LIMIT ?`, []any{limit}
	if tenantID != "" {
		q, args = `SELECT id, time, rule, severity, tenant_id, detail FROM alerts WHERE tenant_id = ? ORDER BY time DESC, id LIMIT ?`, []any{tenantID, limit}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify("alerts", err)
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		var a store.Alert
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Rule, &a.Severity, &a.TenantID, &a.Detail); err != nil {
			return nil, classify("alerts", err)
		}
		a.Time = fromUnix(t)
		out = append(out, a)
	}
	return out, classify("alerts", rows.Err())
}

// TenantAssets implements store.Assets.
func (s *Store) TenantAssets(ctx context.Context, tenantID string, from, to time.Time) ([]store.Asset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		tenantID, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, classify("tenant assets", err)
	}
	defer rows.Close()
	var out []store.Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, classify("tenant assets", err)
		}
		out = append(out, a)
	}
	return out, classify("tenant assets", rows.Err())
}

// TenantSubjects implements store.Assets.
func (s *Store) TenantSubjects(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT subject_hash FROM assets WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM scope_keys WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM consents WHERE tenant_id = ?1 ORDER BY 1`, tenantID)
	if err != nil {
		return nil, classify("tenant subjects", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, classify("tenant subjects", err)
		}
		out = append(out, h)
	}
	return out, classify("tenant subjects", rows.Err())
}

const resultCols = `id, tenant_id, subject_hash, asset_id, feature, purpose, retention, created_at, expires_at`

func scanResults(rows *sql.Rows, op string) ([]store.Result, error) {
	defer rows.Close()
	var out []store.Result
	for rows.Next() {
		var r store.Result
		var c, e int64
		if err := rows.Scan(&r.ID, &r.TenantID, &r.SubjectHash, &r.AssetID, &r.Feature, &r.Purpose, &r.Retention, &c, &e); err != nil {
			return nil, classify(op, err)
		}
		r.CreatedAt, r.ExpiresAt = fromUnix(c), fromUnix(e)
		out = append(out, r)
	}
	return out, classify(op, rows.Err())
}

// PutResult implements store.Results.
func (s *Store) PutResult(ctx context.Context, r store.Result) (string, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return "", classify("put result", err)
	}
	defer tx.Rollback()
	var old string
	err = tx.QueryRowContext(ctx, `SELECT id FROM results WHERE tenant_id = ? AND asset_id = ? AND feature = ?`, r.TenantID, r.AssetID, r.Feature).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", classify("put result", err)
	}
	if old != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM results WHERE id = ?`, old); err != nil {
			return "", classify("put result", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO results(`+resultCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.ID, r.TenantID, r.SubjectHash, r.AssetID, r.Feature, r.Purpose, r.Retention, unix(r.CreatedAt), unix(r.ExpiresAt)); err != nil {
		return "", classify("put result", err)
	}
	return old, classify("put result", tx.Commit())
}

// Results implements store.Results.
func (s *Store) Results(ctx context.Context, tenantID, assetID string) ([]store.Result, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+resultCols+` FROM results WHERE tenant_id = ? AND asset_id = ? ORDER BY feature`, tenantID, assetID)
	if err != nil {
		return nil, classify("results", err)
	}
	return scanResults(rows, "results")
}

// ExpiredResults implements store.Results.
func (s *Store) ExpiredResults(ctx context.Context, t time.Time, limit int) ([]store.Result, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+resultCols+` FROM results WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`, unix(t), limit)
	if err != nil {
		return nil, classify("expired results", err)
	}
	return scanResults(rows, "expired results")
}

// DeleteResult implements store.Results.
func (s *Store) DeleteResult(ctx context.Context, tenantID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM results WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return classify("delete result", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "result not found")
	}
	return nil
}

// DeleteSubjectResults implements store.Results.
func (s *Store) DeleteSubjectResults(ctx context.Context, tenantID, subjectHash, purpose string) (int, error) {
	q, args := `DELETE FROM results WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`, []any{tenantID, subjectHash, purpose}
	if purpose == "*" {
		q, args = `DELETE FROM results WHERE tenant_id = ? AND subject_hash = ?`, args[:2]
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, classify("delete subject results", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const suggestionCols = `id, tenant_id, subject_hash, asset_id, x, y, w, h, created_at, expires_at`

func scanSuggestions(rows *sql.Rows, op string) ([]store.Suggestion, error) {
	defer rows.Close()
	var out []store.Suggestion
	for rows.Next() {
		var g store.Suggestion
		var c, e int64
		if err := rows.Scan(&g.ID, &g.TenantID, &g.SubjectHash, &g.AssetID, &g.Box.X, &g.Box.Y, &g.Box.W, &g.Box.H, &c, &e); err != nil {
			return nil, classify(op, err)
		}
		g.CreatedAt, g.ExpiresAt = fromUnix(c), fromUnix(e)
		out = append(out, g)
	}
	return out, classify(op, rows.Err())
}

// CreateSuggestion implements store.Faces.
func (s *Store) CreateSuggestion(ctx context.Context, g store.Suggestion) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO suggestions(`+suggestionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		g.ID, g.TenantID, g.SubjectHash, g.AssetID, g.Box.X, g.Box.Y, g.Box.W, g.Box.H, unix(g.CreatedAt), unix(g.ExpiresAt))
	return classify("create suggestion", err)
}

// Suggestion implements store.Faces.
func (s *Store) Suggestion(ctx context.Context, tenantID, id string) (store.Suggestion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return store.Suggestion{}, classify("suggestion", err)
	}
	gs, err := scanSuggestions(rows, "suggestion")
	if err != nil {
		return store.Suggestion{}, err
	}
	if len(gs) == 0 {
		return store.Suggestion{}, fault.New(fault.NotFound, "suggestion not found")
	}
	return gs[0], nil
}

// DeleteSuggestion implements store.Faces.
func (s *Store) DeleteSuggestion(ctx context.Context, tenantID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM suggestions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return classify("delete suggestion", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "suggestion not found")
	}
	return nil
}

// ExpiredSuggestions implements store.Faces.
func (s *Store) ExpiredSuggestions(ctx context.Context, t time.Time, limit int) ([]store.Suggestion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`, unix(t), limit)
	if err != nil {
		return nil, classify("expired suggestions", err)
	}
	return scanSuggestions(rows, "expired suggestions")
}

// Suggestions implements store.Faces.
func (s *Store) Suggestions(ctx context.Context, tenantID, subjectHash string) ([]store.Suggestion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
	if err != nil {
		return nil, classify("suggestions", err)
	}
	return scanSuggestions(rows, "suggestions")
}

// CreateFaceTag implements store.Faces.
func (s *Store) CreateFaceTag(ctx context.Context, t store.FaceTag) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO face_tags(id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.TenantID, t.SubjectHash, t.AssetID, t.PersonID, t.Box.X, t.Box.Y, t.Box.W, t.Box.H, unix(t.CreatedAt))
	return classify("create face tag", err)
}

// FaceTags implements store.Faces.
func (s *Store) FaceTags(ctx context.Context, tenantID, subjectHash, personID string) ([]store.FaceTag, error) {
	q := `SELECT id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at FROM face_tags WHERE tenant_id = ? AND subject_hash = ?`
	args := []any{tenantID, subjectHash}
	if personID != "" {
		q += ` AND person_id = ?`
		args = append(args, personID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, classify("face tags", err)
	}
	defer rows.Close()
	var out []store.FaceTag
	for rows.Next() {
		var t store.FaceTag
		var c int64
		if err := rows.Scan(&t.ID, &t.TenantID, &t.SubjectHash, &t.AssetID, &t.PersonID, &t.Box.X, &t.Box.Y, &t.Box.W, &t.Box.H, &c); err != nil {
			return nil, classify("face tags", err)
		}
		t.CreatedAt = fromUnix(c)
		out = append(out, t)
	}
	return out, classify("face tags", rows.Err())
}

// RetagPerson implements store.Faces.
func (s *Store) RetagPerson(ctx context.Context, tenantID, subjectHash, from, to string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE face_tags SET person_id = ? WHERE tenant_id = ? AND subject_hash = ? AND person_id = ?`, to, tenantID, subjectHash, from)
	return classify("retag person", err)
}

// DeletePersonTags implements store.Faces.
func (s *Store) DeletePersonTags(ctx context.Context, tenantID, subjectHash, personID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM face_tags WHERE tenant_id = ? AND subject_hash = ? AND person_id = ?`, tenantID, subjectHash, personID)
	return classify("delete person tags", err)
}

// DeleteSubjectFaces implements store.Faces.
func (s *Store) DeleteSubjectFaces(ctx context.Context, tenantID, subjectHash string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("delete subject faces", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM suggestions WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM face_tags WHERE tenant_id = ? AND subject_hash = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, subjectHash); err != nil {
			return classify("delete subject faces", err)
		}
	}
	return classify("delete subject faces", tx.Commit())
}

// AssetFaces implements store.Faces.
func (s *Store) AssetFaces(ctx context.Context, tenantID, assetID string) ([]store.Suggestion, []store.FaceTag, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	if err != nil {
		return nil, nil, classify("asset suggestions", err)
	}
	gs, err := scanSuggestions(rows, "asset suggestions")
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at FROM face_tags WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	if err != nil {
		return nil, nil, classify("asset face tags", err)
	}
	defer rows.Close()
	var ts []store.FaceTag
	for rows.Next() {
		var t store.FaceTag
		var c int64
		if err := rows.Scan(&t.ID, &t.TenantID, &t.SubjectHash, &t.AssetID, &t.PersonID, &t.Box.X, &t.Box.Y, &t.Box.W, &t.Box.H, &c); err != nil {
			return nil, nil, classify("asset face tags", err)
		}
		t.CreatedAt = fromUnix(c)
		ts = append(ts, t)
	}
	return gs, ts, classify("asset face tags", rows.Err())
}

// DeleteAssetFaces implements store.Faces.
func (s *Store) DeleteAssetFaces(ctx context.Context, tenantID, assetID string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify("delete asset faces", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM suggestions WHERE tenant_id = ? AND asset_id = ?`, `DELETE FROM face_tags WHERE tenant_id = ? AND asset_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, assetID); err != nil {
			return classify("delete asset faces", err)
		}
	}
	return classify("delete asset faces", tx.Commit())
}

// CreatePrivacyLink implements store.PrivacyLinks.
func (s *Store) CreatePrivacyLink(ctx context.Context, l store.PrivacyLink) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO privacy_links(id, tenant_id, subject_hash, expires_at) VALUES (?,?,?,?)`,
		l.ID, l.TenantID, l.SubjectHash, unix(l.ExpiresAt))
	return classify("create privacy link", err)
}

// CreateConsoleLink implements store.ConsoleLinks.
func (s *Store) CreateConsoleLink(ctx context.Context, id string, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_links(id, expires_at) VALUES (?,?)`, id, unix(expires))
	return classify("create console link", err)
}

// ConsumeConsoleLink implements store.ConsoleLinks.
func (s *Store) ConsumeConsoleLink(ctx context.Context, id string, at time.Time) (time.Time, error) {
	var exp int64
	err := s.w.QueryRowContext(ctx, `UPDATE console_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL RETURNING expires_at`, unix(at), id).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if s.r.QueryRowContext(ctx, `SELECT count(*) FROM console_links WHERE id = ?`, id).Scan(&n); n > 0 {
			return time.Time{}, fault.New(fault.Conflict, "console link already used or revoked")
		}
		return time.Time{}, fault.New(fault.NotFound, "console link not found")
	}
	if err != nil {
		return time.Time{}, classify("consume console link", err)
	}
	return fromUnix(exp), nil
}

// ConsoleLinkLive implements store.ConsoleLinks.
func (s *Store) ConsoleLinkLive(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM console_links WHERE id = ? AND used_at IS NOT NULL AND revoked_at IS NULL`, id).Scan(&n)
	return n == 1, classify("console link live", err)
}

// RevokeConsoleLinks implements store.ConsoleLinks.
func (s *Store) RevokeConsoleLinks(ctx context.Context, at time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE console_links SET revoked_at = ? WHERE revoked_at IS NULL`, unix(at))
	if err != nil {
		return 0, classify("revoke console links", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ConsumePrivacyLink implements store.PrivacyLinks.
func (s *Store) ConsumePrivacyLink(ctx context.Context, tenantID, id string, at time.Time) (store.PrivacyLink, error) {
	l := store.PrivacyLink{ID: id, TenantID: tenantID}
	var exp int64
	err := s.w.QueryRowContext(ctx, `UPDATE privacy_links SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at IS NULL RETURNING subject_hash, expires_at`,
		unix(at), tenantID, id).Scan(&l.SubjectHash, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if s.r.QueryRowContext(ctx, `SELECT count(*) FROM privacy_links WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); n > 0 {
			return store.PrivacyLink{}, fault.New(fault.Conflict, "privacy link already used")
		}
		return store.PrivacyLink{}, fault.New(fault.NotFound, "privacy link not found")
	}
	if err != nil {
		return store.PrivacyLink{}, classify("consume privacy link", err)
	}
	l.ExpiresAt = fromUnix(exp)
	return l, nil
}
