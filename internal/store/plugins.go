package store

import (
	"context"
	"time"
)

// PluginPublisher is a plugin publisher the installation trusts: its name
// and Ed25519 public key (32 bytes).
type PluginPublisher struct {
	Name      string
	PublicKey []byte
	CreatedAt time.Time
}

// PluginRecord is an installed plugin: its signed manifest file as
// installed and its module's bytes (verified against the manifest at
// install, and again when loaded).
type PluginRecord struct {
	Name        string
	Version     string
	Publisher   string
	SHA256      string
	Manifest    []byte
	Module      []byte // empty in lists
	InstalledAt time.Time
}

// Plugins is the installation's registry of trusted publishers and
// installed plugins (installation-wide, not per tenant).
type Plugins interface {
	// PutPluginPublisher adds or replaces a trusted publisher.
	PutPluginPublisher(ctx context.Context, p PluginPublisher) error
	// PluginPublisher returns a trusted publisher (fault.NotFound if none).
	PluginPublisher(ctx context.Context, name string) (PluginPublisher, error)
	// PutPlugin installs a plugin, replacing an installed one of the same
	// name.
	PutPlugin(ctx context.Context, p PluginRecord) error
	// Plugin returns an installed plugin with its module (fault.NotFound).
	Plugin(ctx context.Context, name string) (PluginRecord, error)
	// Plugins lists installed plugins by name, without their modules.
	Plugins(ctx context.Context) ([]PluginRecord, error)
	// DeletePlugin uninstalls a plugin (fault.NotFound if not installed).
	DeletePlugin(ctx context.Context, name string) error
}
