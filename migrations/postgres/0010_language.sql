-- Issue 12: the language a user chose (`ko` or `en`); NULL until they
-- choose, when the browser's language (else Korean) decides.
ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('ko', 'en'));
