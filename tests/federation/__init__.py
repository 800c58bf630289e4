"""Tokens from external identity providers (behaviour §8)."""
