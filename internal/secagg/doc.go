// Package secagg implements secure aggregation after Bonawitz et al.,
// "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
// (CCS 2017), in its actively secure form (rounds 0–4: AdvertiseKeys,
// ShareKeys, MaskedInputCollection, ConsistencyCheck, Unmasking).
//
// Each client holds a vector in the ring Z_{2^k}. It masks the vector with
// pairwise masks (a ChaCha20 stream keyed by an X25519 agreement with every
// other client; the two ends add and subtract the same stream) and with a
// self mask (a ChaCha20 stream from a seed only it knows), and Shamir-shares
// (threshold t, cloudflare/circl over ristretto255) the self-mask seed and
// the private key of its mask agreement with the other clients, encrypted to
// each of them with ChaCha20-Poly1305 under a second X25519 agreement. The
// server learns the sum of the surviving clients' vectors and nothing else:
// for a client that dropped after sharing, the survivors reveal shares of its
// mask key (so its pairwise masks can be removed); for a survivor, shares of
// its self-mask seed. A client never reveals both for the same peer, and the
// consistency round (every survivor signs the survivor set with its enrolled
// device key) stops a server from claiming to different clients that one
// peer both dropped and survived.
//
// What it protects against: a server (and up to t−1 colluding clients) that
// follows or deviates from the protocol learns no single client's vector,
// only sums over at least t clients. Every client message is signed with the
// device's enrolled Ed25519 key over the session id and its type, so forged,
// replayed (into another session or twice in one) or out-of-order messages are
// refused. What it does not protect against: a server that enrols fake
// devices (Sybil resistance is the enrolment: one device key per subject,
// enrolled by the app backend), clients that submit a wrong vector (inputs
// are bounded and noised by the caller, see internal/fl), or denial of
// service (fewer than t survivors abort the round). The byte layout is
// docs/spec/secagg-v1.md.
package secagg
