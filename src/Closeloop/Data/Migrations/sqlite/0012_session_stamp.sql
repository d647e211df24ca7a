-- A person's sessions end when they sign out or their password changes: each sign-in cookie carries this stamp, and
-- a cookie whose stamp is no longer the user's is refused. Null until the next sign-in, which sets one.
ALTER TABLE users ADD COLUMN session_stamp TEXT;
