-- Reader API keys scoped to apps (`mediaxd create-api-key --role reader --apps 'crm,shop-*'`): the
-- app names and glob patterns ('*' = any characters) the key may read and report tokens of. NULL:
-- every app. Admin keys are never scoped. The daemon checks each pattern's form before storing it
-- (service/api_key_scope.hpp); the CHECKs keep a hand-written row from widening what a key may do
-- by accident (an empty list would read as "no app" to one reader and "every app" to another).
ALTER TABLE mediax.api_keys ADD COLUMN apps text[];
ALTER TABLE mediax.api_keys ADD CONSTRAINT api_keys_apps_reader_only
  CHECK (apps IS NULL OR (role = 'reader' AND cardinality(apps) BETWEEN 1 AND 100));
