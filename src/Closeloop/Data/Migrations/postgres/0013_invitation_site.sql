-- An invitation that is not about a contact still belongs to a site (the inviting key's, or the customer's latest
-- record's), so that its answer is a response of that site, seen and measured there, like every other response.
ALTER TABLE survey_invitations ADD COLUMN site_id BIGINT;
