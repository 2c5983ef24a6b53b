-- Version 6: history entries of kind 'moodboard' (several photos, one playlist). The entry keeps the
-- combined query vector in its feedback object, so "Run again" needs none of the photos.
ALTER TABLE search_history DROP CONSTRAINT search_history_kind_check;
ALTER TABLE search_history ADD CONSTRAINT search_history_kind_check
    CHECK (kind IN ('image', 'text', 'hybrid', 'similar', 'feedback', 'moodboard'));
