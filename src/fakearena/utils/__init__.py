"""Shared helpers below everything else: atomic file writes and hashes (`io`), RNG state
(`rng`), devices and process sharding (`parallel`), experiment loggers (`loggers`,
`log_images`), quieting third-party output (`quiet`)."""
