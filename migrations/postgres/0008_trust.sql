-- Closed intake (issue 13): the document's own public title, set by the clerk
-- (NULL: the public sees the masked title).
ALTER TABLE documents ADD COLUMN public_title TEXT;
