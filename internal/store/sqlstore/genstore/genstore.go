// Package genstore is the SQL store of what the generators keep: face
// suggestions and tags, meme drafts and generated assets, provenance,
// plugins, analytics contributions and the privacy ledger, federated
// learning. Like internal/store/sqlstore, whose Conn (handles and dialect)
// it is built on, its queries are written once for SQLite and Postgres;
// the backends embed a *Generators beside their *sqlstore.Store.
//
// It is split from sqlstore along the line issue 18 draws between the
// privacy core every feature relies on (tenants, keys, consent, assets,
// audit, results, the forget journal) and the stores of the features that
// plug into the consented run; neither uses the other's tables.
package genstore

import "github.com/obscuraproject/obscura/internal/store/sqlstore"

// Generators implements store.Faces, store.Drafts, store.Provenance,
// store.Plugins, store.Analytics and store.FL over a sqlstore.Conn.
type Generators struct{ c *sqlstore.Conn }

// New returns the generators' store over c.
func New(c *sqlstore.Conn) *Generators { return &Generators{c: c} }
