"""Tokens from external identity providers, the shell side: fetching and caching their keys."""
