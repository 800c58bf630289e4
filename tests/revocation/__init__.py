"""The revocation checker: seeded histories of writes and requests, each answer of the served
middleware checked against a fresh decision (behaviour §3, §5, §7). See ``checker``."""
