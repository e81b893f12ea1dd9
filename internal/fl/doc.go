// Package fl coordinates federated learning: devices enrolled by the app
// backend for one subject each train a small head locally on their own
// photos' features, clip their update, add a share of distributed discrete
// Gaussian noise (internal/ddg) and submit it through secure aggregation
// (internal/secagg), so the server learns only the noisy sum of the
// survivors' updates. The server averages it into a candidate model, checks
// the candidate on its own held-out canary set, and publishes it as a new
// signed, hash-pinned version only if it does not regress; otherwise the
// round is rejected and recorded. Each round's record (participants as keyed
// hashes, survivors, ρ spent, canary before and after, outcome) is stored,
// and a task stops when its privacy budget would be exceeded or its kill
// switch (feature federated_learning) is on.
//
// What it protects against: a curious server (it sees masked vectors and a
// noisy sum only); one party posing as many (a round counts distinct
// subjects, and only enrolled device keys, one subject each, can sign
// protocol messages); poisoning by a minority of clients (client-side
// clipping bounds each update's influence, and the canary check rejects a
// candidate that regresses). What it does not: an operator who enrols fake
// devices; a published model cannot be un-trained when a subject later
// revokes federated_learning (the purpose's notice says so); the canary set
// only catches damage that shows on it.
package fl
