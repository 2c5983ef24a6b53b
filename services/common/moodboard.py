"""What a moodboard takes, for the search route that combines the photos and the UI form that
collects them: one definition, so the two can never disagree about a count."""

MIN_PHOTOS, MAX_PHOTOS = 2, 6
