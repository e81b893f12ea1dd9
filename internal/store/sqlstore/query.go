package sqlstore

import (
	"context"
	"database/sql"
)

// queryer is a database or a transaction, in a dialect.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	dialect() *Dialect
}

// queryAll runs a query and scans every row with scan; what names the
// query in errors (classified as every store error is).
func queryAll[T any](ctx context.Context, db queryer, what string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.dialect().Classify(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.dialect().Classify(what, err)
		}
		out = append(out, v)
	}
	return out, db.dialect().Classify(what, rows.Err())
}
