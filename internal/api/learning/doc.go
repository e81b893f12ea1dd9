// Package learning registers the /v1 operations that learn from many
// subjects at once: federated-learning devices, tasks and rounds (secure
// aggregation messages), and differentially private analytics queries and
// their budget.
package learning
