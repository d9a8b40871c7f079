-- A change counter for the terminology resources users store (CodeSystem, ValueSet,
-- ConceptMap, NamingSystem). Every server process caches what it built from them (value-set
-- expansions, code-system indexes, map indexes, URI aliases) under the counter value it read;
-- reading this one row tells it whether the cache is still current — across gunicorn workers
-- and servers, and in the writer's own transaction (a rolled-back write does not bump it).
-- A trigger, not application code, bumps it, so every write path (REST, transaction Bundles,
-- the importer) is covered.
CREATE TABLE terminology_generation (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL
);
INSERT INTO terminology_generation (generation) VALUES (0);

CREATE FUNCTION bump_terminology_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE terminology_generation SET generation = generation + 1;
    RETURN NULL;
END;
$$;

-- Every create, update and delete inserts a row version (a delete inserts its marker).
CREATE TRIGGER resource_terminology_changed
    AFTER INSERT ON resource
    FOR EACH ROW
    WHEN (NEW.rtype IN ('CodeSystem', 'ValueSet', 'ConceptMap', 'NamingSystem'))
    EXECUTE FUNCTION bump_terminology_generation();
