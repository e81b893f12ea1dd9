package secagg

import (
	"fmt"
	"testing"
)

// benchLength is the scene task's 9,315-parameter head.
const benchLength = 9315

// BenchmarkRound runs whole sessions (every client and the server) of 10
// and 50 clients; the 200-client figure comes from `obscura bench fl`.
// Its baseline is BenchmarkPlainSum with the same n.
func BenchmarkRound(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := newSession(&testing.T{}, params(n/2+1, benchLength, 24), n, "bench")
				b.StartTimer()
				if err := s.run(nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlainSum is the baseline: summing n unmasked vectors.
func BenchmarkPlainSum(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			xs := make([][]uint64, n)
			for i := range xs {
				xs[i] = PRG([32]byte{byte(i)}, benchLength, 24)
			}
			for b.Loop() {
				z := make([]uint64, benchLength)
				for _, x := range xs {
					for j, v := range x {
						z[j] = (z[j] + v) & (1<<24 - 1)
					}
				}
			}
		})
	}
}

// BenchmarkClientMasked is one client's heaviest step at 50 clients: 49
// pairwise masks and the self mask over the vector.
func BenchmarkClientMasked(b *testing.B) {
	y := make([]uint64, benchLength)
	for b.Loop() {
		for k := 0; k < 50; k++ {
			addPRG(y, [32]byte{byte(k)}, 24, 1)
		}
	}
}
