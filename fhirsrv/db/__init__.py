"""Database: the embedded Postgres launcher, the connection pool and migrations."""
