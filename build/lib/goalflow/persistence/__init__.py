"""Storage: urls, recorders, the codec and the event store."""
