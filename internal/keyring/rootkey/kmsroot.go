package rootkey

import (
	"context"
	"fmt"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/tink-crypto/tink-go-awskms/v2/integration/awskms"
	"github.com/tink-crypto/tink-go-gcpkms/v2/integration/gcpkms"
	"github.com/tink-crypto/tink-go-hcvault/v2/integration/hcvault"
	"github.com/tink-crypto/tink-go/v2/tink"
	"google.golang.org/api/option"

	"github.com/obscuraproject/obscura/internal/fault"
)

// RemoteRootOptions configures a remote root key.
type RemoteRootOptions struct {
	// VaultAddr overrides the Vault address derived from the URI (e.g.
	// "http://127.0.0.1:8200"); VaultToken authenticates. Usually from
	// VAULT_ADDR and VAULT_TOKEN.
	VaultAddr  string
	VaultToken string
	// VaultRetries is how often a failed Vault call is retried (default 2;
	// negative means none).
	VaultRetries int
	// GCPOptions are passed to the GCP KMS client (endpoint, credentials).
	GCPOptions []option.ClientOption
}

// RemoteRoot returns a root AEAD held by an external KMS, through Tink's
// integrations. Key material never leaves the KMS; every root operation is a
// KMS call, so an unreachable KMS fails closed (fault.Unavailable from the
// keyring). Supported URIs:
//
//	hcvault://HOST[:PORT]/transit/keys/NAME   HashiCorp Vault Transit (key with derived=false)
//	aws-kms://arn:aws:kms:REGION:ACCOUNT:key/ID
//	gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K
func RemoteRoot(ctx context.Context, uri string, opt RemoteRootOptions) (tink.AEAD, error) {
	switch {
	case strings.HasPrefix(uri, "hcvault://"):
		rest := strings.TrimPrefix(uri, "hcvault://")
		host, path, ok := strings.Cut(rest, "/")
		if !ok || host == "" {
			return nil, fault.New(fault.Invalid, "vault key URI must be hcvault://HOST[:PORT]/transit/keys/NAME")
		}
		cfg := vault.DefaultConfig()
		cfg.Address = "https://" + host
		cfg.Timeout = 10 * time.Second
		switch {
		case opt.VaultRetries < 0:
			cfg.MaxRetries = 0
		case opt.VaultRetries > 0:
			cfg.MaxRetries = opt.VaultRetries
		}
		if opt.VaultAddr != "" {
			cfg.Address = opt.VaultAddr
		}
		c, err := vault.NewClient(cfg)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "vault client", err)
		}
		c.SetToken(opt.VaultToken)
		a, err := hcvault.NewAEAD("/"+path, c.Logical())
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "vault key URI must be hcvault://HOST[:PORT]/transit/keys/NAME", err)
		}
		return a, nil
	case strings.HasPrefix(uri, "aws-kms://"):
		c, err := awskms.NewClientWithOptions(uri)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "aws kms client", err)
		}
		a, err := c.GetAEAD(uri)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "aws kms key", err)
		}
		return a, nil
	case strings.HasPrefix(uri, "gcp-kms://"):
		c, err := gcpkms.NewClient(ctx, uri, gcpkms.WithTransport(gcpkms.TransportREST), gcpkms.WithGoogleAPIClientOptions(opt.GCPOptions...))
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "gcp kms client", err)
		}
		a, err := c.GetAEAD(uri)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "gcp kms key", err)
		}
		return a, nil
	default:
		return nil, fault.New(fault.Invalid, fmt.Sprintf("unsupported key service %q (want local, hcvault://, aws-kms:// or gcp-kms://)", redactURI(uri)))
	}
}

// redactURI keeps only the scheme, in case someone pasted a credential.
func redactURI(uri string) string {
	if s, _, ok := strings.Cut(uri, "://"); ok {
		return s + "://…"
	}
	return "…"
}
