-- +goose Up
-- Deleting a photo deletes what was derived from it: these find it.
CREATE INDEX results_asset ON results(tenant_id, asset_id);
CREATE INDEX suggestions_asset ON suggestions(tenant_id, asset_id);
CREATE INDEX face_tags_asset ON face_tags(tenant_id, asset_id);

-- +goose Down
DROP INDEX face_tags_asset;
DROP INDEX suggestions_asset;
DROP INDEX results_asset;
