"""The Lua scripts that list and load a Redis store's tokens, for a copy, a backup or a restore
(``baas_auth.stores.transfer``). Plain text, as the other scripts (``_redis_lua``).
"""

from __future__ import annotations

from baas_auth.stores._redis_lua import TOKEN_HELPERS

__all__ = ["EXPORT_TOKENS", "LOAD_TOKENS"]

# Listing tokens (a copy, a backup). KEYS: expiry index. ARGV: tokens prefix, then token ids.
# Returns id, record, owner, created, last use, longest gap, expiry ('' for never) for each
# token still there. 'c' (created) is kept from a token's first use on (TOUCH_TOKEN): until
# then its last use is its creation.
EXPORT_TOKENS = (
    TOKEN_HELPERS
    + """
local found = {}
for n = 2, #ARGV do
  local id = ARGV[n]
  local fields = redis.call('HMGET', ARGV[1] .. id, 'r', 'p', 'c', 'a', 'i')
  if fields[1] and fields[2] then
    local expires = redis.call('ZSCORE', KEYS[1], entry_of(id, fields[2]))
    local row = {id, fields[1], fields[2], fields[3] or fields[4], fields[4], fields[5]}
    row[7] = expires or ''
    for _, value in ipairs(row) do
      found[#found + 1] = value
    end
  end
end
return found
"""
)

# Loading tokens (a copy, a restore): PUT_TOKEN for each, with its uses. KEYS: expiry index,
# stamp. ARGV: tokens prefix, owners prefix, then for each token: id, owner, record,
# created_ms, expires_at_ms ('' for never), last use, longest gap. Returns the count.
LOAD_TOKENS = (
    TOKEN_HELPERS
    + """
local now = server_ms()
local count = 0
for n = 3, #ARGV, 7 do
  local id, owner, expires = ARGV[n], ARGV[n + 1], ARGV[n + 4]
  local token = ARGV[1] .. id
  local previous = redis.call('HGET', token, 'p')
  if previous then
    redis.call('SREM', ARGV[2] .. previous, id)
    redis.call('ZREM', KEYS[1], entry_of(id, previous))
    redis.call('DEL', token)
  end
  redis.call('HSET', token, 'r', ARGV[n + 2], 'p', owner, 'a', ARGV[n + 5], 'i', ARGV[n + 6])
  if ARGV[n + 3] ~= ARGV[n + 5] then
    redis.call('HSET', token, 'c', ARGV[n + 3])
  end
  redis.call('SADD', ARGV[2] .. owner, id)
  if expires ~= '' then
    redis.call('ZADD', KEYS[1], expires, entry_of(id, owner))
    if tonumber(expires) > now then
      redis.call('PEXPIREAT', token, expires)
    end
  end
  count = count + 1
end
bump_stamp(KEYS[2])
return count
"""
)
