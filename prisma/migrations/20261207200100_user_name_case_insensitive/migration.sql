-- User names are unique ignoring case: `ADMIN` beside `admin` reads as the same person in the audit log and
-- shares its sign-in limit (counted per lower-cased name). Prisma's schema cannot express an index on an
-- expression, so it lives here only (see the note on User.name).
DO $$
DECLARE clash TEXT;
BEGIN
  SELECT string_agg(names, '; ') INTO clash FROM (
    SELECT string_agg("name", ', ' ORDER BY "name") AS names FROM "User" GROUP BY lower("name") HAVING count(*) > 1
  ) AS dup;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION 'users whose names differ only in case: %. Rename all but one of each (UPDATE "User" SET name = ...) and upgrade again', clash;
  END IF;
END $$;

CREATE UNIQUE INDEX "User_name_lower_key" ON "User"(lower("name"));
