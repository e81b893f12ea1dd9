// Package tenant creates tenants: the record, its first API key (every
// scope, shown once) and its first key-encryption-key version. The CLI
// (`obscura tenant create`) and the installation operator's console both
// create tenants through it.
package tenant

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/store"
)

// MaxName is the longest tenant name, in bytes.
const MaxName = 100

type records interface {
	CreateTenant(ctx context.Context, t store.Tenant, first store.APIKey) error
}

type keyService interface {
	HashID(domain, id string) string
	InitTenant(ctx context.Context, tenant string) error
}

// NewID returns a fresh random tenant id ("ten_" and 20 base32 letters).
func NewID() string {
	return ident.Sized("ten_", 12)
}

// Create makes a tenant named name and returns it with its first API key
// in plain text — the only time that key is seen. A name is 1 to MaxName
// bytes of UTF-8 after trimming spaces.
func Create(ctx context.Context, st records, keys keyService, name string, now time.Time) (store.Tenant, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxName || !utf8.ValidString(name) {
		return store.Tenant{}, "", fault.New(fault.Invalid, fmt.Sprintf("tenant name must be 1 to %d characters of UTF-8", MaxName))
	}
	for _, r := range name {
		// Control characters (C0, DEL, C1) and bidi overrides make names
		// that forge log lines or display as something else.
		if unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return store.Tenant{}, "", fault.New(fault.Invalid, "tenant name must not contain control characters")
		}
	}
	t := store.Tenant{ID: NewID(), Name: name, CreatedAt: now.UTC()}
	plain, rec := auth.Mint(keys, t.ID, auth.AllScopes, t.CreatedAt)
	if err := st.CreateTenant(ctx, t, rec); err != nil {
		return store.Tenant{}, "", fmt.Errorf("create tenant: %w", err)
	}
	if err := keys.InitTenant(ctx, t.ID); err != nil {
		return store.Tenant{}, "", fmt.Errorf("create tenant key: %w", err)
	}
	return t, plain, nil
}
