-- +goose Up
-- Single-use links that open an installation operator's console session.
CREATE TABLE console_links (
    id         TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER -- set by `obscura console sign-out`: the session it opened ends
) STRICT;

-- +goose Down
DROP TABLE console_links;
