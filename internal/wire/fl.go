package wire

import (
	"context"
	"crypto/ed25519"
	"sync"

	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/fl"
)

// openFL builds the federated-learning coordinator on the store, the
// consent service, the kill switch and the installation's model-signing key
// (created on first use, in the key service like every signing key).
func (g *Graph) openFL() (*fl.Coordinator, error) {
	return fl.New(fl.Deps{Store: g.Store, Consents: g.Consents, Kill: g.Kill, Hash: g.Keys, Signer: &lazySigner{g: g, use: "fl-model"},
		Clock: g.Clock, Log: g.Log, Noise: dp.DiscreteGaussian})
}

// lazySigner fetches the installation signer on first use, so commands that
// never publish a model do not create its key.
type lazySigner struct {
	g   *Graph
	use string
	mu  sync.Mutex
	s   interface {
		Sign([]byte) ([]byte, error)
		PublicKey() ed25519.PublicKey
	}
}

func (l *lazySigner) get() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return nil
	}
	s, err := l.g.Keys.TenantSigner(context.Background(), "", l.use)
	if err != nil {
		return err
	}
	l.s = s
	return nil
}

// Sign implements fl.Signer.
func (l *lazySigner) Sign(msg []byte) ([]byte, error) {
	if err := l.get(); err != nil {
		return nil, err
	}
	return l.s.Sign(msg)
}

// PublicKey implements fl.Signer; nil if the key service is unavailable
// (every verification then fails closed).
func (l *lazySigner) PublicKey() ed25519.PublicKey {
	if l.get() != nil {
		return nil
	}
	return l.s.PublicKey()
}
