// Package subjectstore is the SQL store of the subjects' data: photos
// (assets, single-use uploads and downloads, pending uploads), consent and
// its receipt chains, analysis results, the forget journal and privacy
// links. Like internal/store/sqlstore, whose Conn (handles and dialect) it
// is built on, its queries are written once for SQLite and Postgres; the
// backends embed a *Subjects beside their *sqlstore.Store.
package subjectstore

import "github.com/obscuraproject/obscura/internal/store/sqlstore"

// Subjects implements store.Assets, store.PendingAssets, store.Consents,
// store.Results and store.Forgets (and the privacy-link reads) over a
// sqlstore.Conn.
type Subjects struct{ c *sqlstore.Conn }

// New returns the subjects' store over c.
func New(c *sqlstore.Conn) *Subjects { return &Subjects{c: c} }
