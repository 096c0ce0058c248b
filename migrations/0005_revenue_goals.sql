-- Revenue goals: a custom event goal with an ISO 4217 currency reports the
-- revenue of its events in that currency (Plausible's revenue goals).
-- NULL for every other goal.
ALTER TABLE goals ADD COLUMN currency TEXT
    CHECK (currency IS NULL OR (length(currency) = 3 AND currency = upper(currency) AND event_name <> ''));
