package sqlstore

import (
	"context"
	"database/sql"
)

// Queryer is a ReadConn or a TxConn: queries in a dialect.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Dialect() *Dialect
}

// QueryAll runs a query and scans every row with scan; what names the
// query in errors (classified as every store error is).
func QueryAll[T any](ctx context.Context, db Queryer, what string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.Dialect().Classify(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.Dialect().Classify(what, err)
		}
		out = append(out, v)
	}
	return out, db.Dialect().Classify(what, rows.Err())
}
