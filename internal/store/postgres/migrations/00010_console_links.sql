-- +goose Up
-- Single-use links that open an installation operator's console session.
CREATE TABLE console_links (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT -- set by `obscura console sign-out`: the session it opened ends
);

-- +goose Down
DROP TABLE console_links;
