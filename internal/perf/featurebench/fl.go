package featurebench

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/secagg"
)

// SecAggRow is one secure-aggregation measurement: a whole round of n
// clients over a vector of Length elements, split into the server's share
// and the mean client's share, beside the baseline of summing the same
// unmasked vectors (what a server without secure aggregation would do).
type SecAggRow struct {
	Clients    int     `json:"clients"`
	Length     int     `json:"length"`
	RoundMs    float64 `json:"round_ms"`     // all clients and the server, one after another
	ServerMs   float64 `json:"server_ms"`    // the server's CPU time
	ClientMs   float64 `json:"client_ms"`    // one client's CPU time, mean
	PlainSumMs float64 `json:"plain_sum_ms"` // baseline: summing the unmasked vectors
	ServerX    float64 `json:"server_x"`     // ServerMs / PlainSumMs
}

// SecAggLength is the benchmark's vector length: the scene task's
// 9,315-parameter head.
const SecAggLength = 9315

// RunSecAgg measures one round for each client count, sequentially in
// this goroutine (so the times are CPU times of one core).
func RunSecAgg(ns []int, length int) ([]SecAggRow, error) {
	var rows []SecAggRow
	for _, n := range ns {
		r, err := secAggRound(n, length)
		if err != nil {
			return nil, fmt.Errorf("%d clients: %w", n, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func secAggRound(n, length int) (SecAggRow, error) {
	p := secagg.Params{Threshold: n/2 + 1, Bits: 24, Length: length}
	if _, err := rand.Read(p.Session[:]); err != nil {
		return SecAggRow{}, err
	}
	devs := map[uint32]ed25519.PublicKey{}
	clients := make([]*secagg.Client, n)
	inputs := make([][]uint64, n)
	for i := range clients {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return SecAggRow{}, err
		}
		devs[uint32(i+1)] = pub
		if clients[i], err = secagg.NewClient(p, uint32(i+1), priv, nil); err != nil {
			return SecAggRow{}, err
		}
		inputs[i] = make([]uint64, length)
		for j := range inputs[i] {
			inputs[i][j] = uint64(i*j) & (1<<24 - 1)
		}
	}
	var server, client time.Duration
	t0 := time.Now()
	srv, err := secagg.NewServer(p, devs)
	if err != nil {
		return SecAggRow{}, err
	}
	server += time.Since(t0)
	// step runs one client step for everyone, then the server's receive and close.
	step := func(f func(i int, c *secagg.Client) ([]byte, error)) error {
		msgs := make([][]byte, n)
		t := time.Now()
		for i, c := range clients {
			m, err := f(i, c)
			if err != nil {
				return err
			}
			msgs[i] = m
		}
		client += time.Since(t)
		t = time.Now()
		for _, m := range msgs {
			if err := srv.Receive(m); err != nil {
				return err
			}
		}
		err := srv.Close()
		server += time.Since(t)
		return err
	}
	timed := func(f func() ([]byte, error)) ([]byte, error) {
		t := time.Now()
		b, err := f()
		server += time.Since(t)
		return b, err
	}
	steps := []func(i int, c *secagg.Client) ([]byte, error){
		func(_ int, c *secagg.Client) ([]byte, error) { return c.AdvertiseKeys() },
		func(_ int, c *secagg.Client) ([]byte, error) {
			kl, err := timed(srv.KeyList)
			if err != nil {
				return nil, err
			}
			return c.ShareKeys(kl)
		},
		func(i int, c *secagg.Client) ([]byte, error) {
			ct, err := timed(func() ([]byte, error) { return srv.Ciphertexts(uint32(i + 1)) })
			if err != nil {
				return nil, err
			}
			return c.MaskedInput(ct, inputs[i])
		},
		func(_ int, c *secagg.Client) ([]byte, error) {
			sv, err := timed(srv.Survivors)
			if err != nil {
				return nil, err
			}
			return c.ConsistencyCheck(sv)
		},
		func(_ int, c *secagg.Client) ([]byte, error) {
			sg, err := timed(srv.Signatures)
			if err != nil {
				return nil, err
			}
			return c.Unmask(sg)
		},
	}
	for _, s := range steps {
		if err := step(s); err != nil {
			return SecAggRow{}, err
		}
	}
	sum, err := srv.Sum()
	if err != nil {
		return SecAggRow{}, err
	}
	// Baseline: the plain sum of the same vectors.
	t := time.Now()
	plain := make([]uint64, length)
	for _, x := range inputs {
		for j, v := range x {
			plain[j] = (plain[j] + v) & (1<<24 - 1)
		}
	}
	base := time.Since(t)
	for j := range plain {
		if plain[j] != sum[j] {
			return SecAggRow{}, fmt.Errorf("secure sum differs from the plain sum at %d", j)
		}
	}
	return SecAggRow{Clients: n, Length: length, RoundMs: perf.Ms(server + client), ServerMs: perf.Ms(server), ClientMs: perf.Ms(client) / float64(n),
		PlainSumMs: perf.Ms(base), ServerX: float64(server) / float64(max(base, time.Microsecond))}, nil
}
