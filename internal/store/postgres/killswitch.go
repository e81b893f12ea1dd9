package postgres

import (
	"context"
	"fmt"
)

// killChannel is the channel migration 00023's trigger notifies on every
// change of kill_switches.
const killChannel = "obscura_kill_switches"

// ListenKillSwitches calls onChange after every change of the kill
// switches on any node (LISTEN/NOTIFY on a connection of its own), until
// ctx ends (nil) or the connection fails (the error). The connection is
// closed, not returned to the pool, when it ends.
func (s *Store) ListenKillSwitches(ctx context.Context, onChange func()) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen for kill switches: %w", err)
	}
	conn := c.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+killChannel); err != nil {
		return fmt.Errorf("listen for kill switches: %w", err)
	}
	// A change between the caller's last read and LISTEN would be missed:
	// read once now.
	onChange()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kill switch notifications: %w", err)
		}
		onChange()
	}
}
