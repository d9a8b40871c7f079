"""Storage: the versioned resource repository, search index extraction and search SQL."""
