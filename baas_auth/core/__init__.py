"""The pure core: parsing, rules, tokens, hashing, records and responses as plain values.

Nothing here does I/O, reads a clock, starts a thread or logs, nor imports anything outside
``core/``, ``errors`` and ``model`` (a test holds it to that), so every module can be read and
tested on its own.
"""
