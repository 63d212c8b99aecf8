-- 99_grants.sql: the services' role (edlive_app) may call every function, including the ones
-- the files above just created. Applied last, on every migrate.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO edlive_app;
