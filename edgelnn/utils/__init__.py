"""Small helpers shared across edgelnn."""
