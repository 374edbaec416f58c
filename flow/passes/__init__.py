"""Graph passes: small pure functions, one per file, each named by its verb."""
