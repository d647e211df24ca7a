-- Contacts chain into an issue by reason compared without case ("Billing" and "billing" are one reason), so an
-- issue keeps its reason lower-cased; the contacts keep the text they came with.
UPDATE issues SET reason = lower(reason) WHERE reason <> lower(reason);
