package store

import "context"

// ScopeKeyWraps is what crypto-shredding with shred keys needs beyond Keys
// (docs/spec/keys-v2.md): paging through the scope keys of one bucket of
// subjects, and replacing a key's wrapping only if nobody changed it since
// it was read. A backend whose deleted rows survive on disk (Postgres: dead
// tuples, WAL, backups) must implement it; SQLite does too.
type ScopeKeyWraps interface {
	// ScopeKeysWithPrefix pages through the tenant's scope keys whose
	// subject hash starts with prefix ("" is every key), ordered by id,
	// starting after afterID.
	ScopeKeysWithPrefix(ctx context.Context, tenantID, prefix, afterID string, limit int) ([]ScopeKey, error)
	// SwapScopeKeyWrap replaces a key's wrapping and KEK version if its
	// wrapping is still exactly old (compare-and-swap on the bytes);
	// otherwise, or if the key is gone, it is fault.Conflict.
	SwapScopeKeyWrap(ctx context.Context, tenantID, id string, old []byte, version int, wrapped []byte) error
	// SwapScopeKeyWraps applies several such swaps of the tenant's keys in
	// one transaction and reports which applied; a swap whose key changed
	// or is gone is skipped, not an error.
	SwapScopeKeyWraps(ctx context.Context, tenantID string, swaps []WrapSwap) ([]bool, error)
}

// WrapSwap is one compare-and-swap of a scope key's wrapping.
type WrapSwap struct {
	ID      string
	Old     []byte
	Version int
	Wrapped []byte
}
