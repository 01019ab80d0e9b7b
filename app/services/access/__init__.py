"""Who is calling and what they may do: API keys, authentication, the role matrix and
object scopes, the per-key rate limit, idempotent retries.

Imports ``common`` only.
"""
