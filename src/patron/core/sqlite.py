"""How Patron opens SQLite: Django's connections (patron.config.database) and the scoring run's
ADBC writer (patron.insights.services) use the same settings."""

# Every SQLite connection's settings.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-64000")
SQLITE_TIMEOUT = 30  # seconds a connection waits for another's write lock
