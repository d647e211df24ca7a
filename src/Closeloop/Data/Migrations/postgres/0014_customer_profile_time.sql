-- The time (unix ms) of the record whose customer details the profile holds. Records do not arrive in time order (a
-- backfill of history, a CRM export newest first), so an older record may fill what is blank but never replaces
-- details a newer one gave. Null for profiles written before: the next record sets it.
ALTER TABLE customers ADD COLUMN profile_at BIGINT;
