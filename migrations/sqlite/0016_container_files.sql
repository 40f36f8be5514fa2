-- Signed containers (src/signature): each data file of a container is a file of
-- the document beside the container (kept byte for byte as the original);
-- container_pos is the position of the container file it came from (NULL for
-- a file received as such).
ALTER TABLE doc_files ADD COLUMN container_pos INTEGER;
