"""The Lua scripts of the Redis store: every write that touches more than one key, made atomic.

Plain text only (no redis import): ``_redis_layout`` names the keys and passes them in, so a
script never spells a key name itself. Keys a script derives (a token's hash from its id, an
owner's set from its name) are built from prefixes passed as arguments; on Redis Cluster they
share the slot of the declared keys only because the store's prefix carries a hash tag.
"""

from __future__ import annotations

__all__ = [
    "DELETE_PRINCIPAL_TOKENS",
    "DELETE_TOKEN",
    "GET_TOKEN",
    "PURGE_EXPIRED",
    "PUT_TOKEN",
    "SCAN",
    "SWAP_TRANSIENT",
    "TOKEN_HELPERS",
    "TOUCH_TOKEN",
    "TRANSACT",
]

# Moves a freshness value (the change stamp, the generation) to max(value + 1, the server's
# time in microseconds). Kept ahead of the clock, a value never comes back once a process has
# seen it: not after the server is emptied or restarted without its data, nor after it loses
# acknowledged writes (restored from an older snapshot or append-only file, a failover to a
# replica that lagged), which take a plain counter back to values processes remembered
# decisions under. This holds while the server's clock does not go back by more than the time
# the loss takes (restart, failover), and while writes stay below one per microsecond on
# average (faster ones push the value ahead of the clock, and a loss then may meet it again).
# Lua numbers are doubles: microseconds since 1970 stay exact (below 2^53) until the year 2255.
_BUMP_STAMP = """
local function advance(key)
  local now = redis.call('TIME')
  local clock = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local following = (tonumber(redis.call('GET', key)) or 0) + 1
  if clock > following then
    following = clock
  end
  redis.call('SET', key, string.format('%d', following))
end

local function bump_stamp(key)
  advance(key)
end
"""

# Helpers shared by the token scripts. The expiry index holds one entry per token with an
# expiry, "<len(id)>:<id><owner>", so that an entry whose token the server already expired
# still says which owner's set to clean. ``forget`` drops an entry whose token is gone (or now
# belongs to another record) and, when asked, the token it still describes.
TOKEN_HELPERS = (
    _BUMP_STAMP
    + """
local function server_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end

local function entry_of(id, owner)
  return string.len(id) .. ':' .. id .. owner
end

local function split_entry(entry)
  local colon = string.find(entry, ':', 1, true)
  local size = tonumber(string.sub(entry, 1, colon - 1))
  return string.sub(entry, colon + 1, colon + size), string.sub(entry, colon + size + 1)
end

local function forget(index, entry, tokens, owners, delete_live)
  local id, owner = split_entry(entry)
  local live = redis.call('HGET', tokens .. id, 'p') == owner
  if live and not delete_live then
    return 0
  end
  if live then
    redis.call('DEL', tokens .. id)
  end
  redis.call('SREM', owners .. owner, id)
  redis.call('ZREM', index, entry)
  return live and 1 or 0
end

local function below(now)
  return string.format('(%d', now)
end
"""
)

# The change stamp (KEYS[n] where a script declares it) moves with every write that can make a
# decision untrue: directory changes and token removals, in the same script, so that no reader
# sees the write without the new stamp; and with every token issued, which a restore may lose
# (PUT_TOKEN). Recording a use and transient records leave it alone.

# Directory writes. KEYS: records hash, key index (zset, score 0), generation counter, stamp.
# ARGV: number of creates, number of puts, the create pairs, the put pairs, the keys to delete.
# Returns 0 (a create key exists: nothing written), 1 (done, nothing changed), 2 (changed).
TRANSACT = (
    _BUMP_STAMP
    + """
local creates, puts = tonumber(ARGV[1]), tonumber(ARGV[2])
local first_put = 3 + 2 * creates
local first_delete = first_put + 2 * puts
for i = 3, first_put - 1, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    return 0
  end
end
local changed = first_delete > 3
for i = 3, first_delete - 1, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], 0, ARGV[i])
end
for i = first_delete, #ARGV do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[2], ARGV[i])
    changed = true
  end
end
if changed then
  advance(KEYS[3])
  bump_stamp(KEYS[4])
  return 2
end
return 1
"""
)

# KEYS: records hash, key index. ARGV: lexical range (min, max). Returns key, value, key, ...
SCAN = """
local names = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
local found = {}
for first = 1, #names, 256 do
  local last = math.min(first + 255, #names)
  local values = redis.call('HMGET', KEYS[1], unpack(names, first, last))
  for i = first, last do
    found[#found + 1] = names[i]
    found[#found + 1] = values[i - first + 1]
  end
end
return found
"""

# KEYS: token hash, generation counter, stamp. Returns {record, generation, stamp} (nil: none).
GET_TOKEN = """
return {redis.call('HGET', KEYS[1], 'r'), redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3])}
"""  # noqa: S105 - Lua source, not a secret

# KEYS: token hash, expiry index, stamp. ARGV: id, owner, record, created_ms, expires_at_ms (''
# for never), tokens prefix, owners prefix, how many stale index entries to sweep. Returns 1,
# or 2 when a record was replaced. The stamp moves either way (see below).
PUT_TOKEN = (
    TOKEN_HELPERS
    + """
local token, index, id, owner, expires = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[5]
local previous = redis.call('HGET', token, 'p')
if previous then
  redis.call('SREM', ARGV[7] .. previous, id)
  redis.call('ZREM', index, entry_of(id, previous))
  redis.call('DEL', token)
end
-- A new token moves the stamp too: a restore that loses this token brings the stamp back to a
-- value admissions of it may have been remembered under, unless this write moved it.
bump_stamp(KEYS[3])
redis.call('HSET', token, 'r', ARGV[3], 'p', owner, 'a', ARGV[4], 'i', '0')
redis.call('SADD', ARGV[7] .. owner, id)
local now = server_ms()
if expires == '' then
  redis.call('ZREM', index, entry_of(id, owner))
else
  redis.call('ZADD', index, expires, entry_of(id, owner))
  if tonumber(expires) > now then
    redis.call('PEXPIREAT', token, expires)
  end
end
local stale = redis.call('ZRANGEBYSCORE', index, '-inf', below(now), 'LIMIT', 0, ARGV[8])
for _, entry in ipairs(stale) do
  forget(index, entry, ARGV[6], ARGV[7], false)
end
return previous and 2 or 1
"""
)

# KEYS: token hash. ARGV: now_ms. Returns the longest gap between uses, or nil.
TOUCH_TOKEN = """
local seen = redis.call('HMGET', KEYS[1], 'a', 'i')
if not seen[1] then
  return false
end
local gap = math.max(tonumber(seen[2]), tonumber(ARGV[1]) - tonumber(seen[1]))
-- Until its first use a token's last use is its creation: kept as 'c' from then on (a copy of
-- the token needs it), so that a token never used costs no field more.
redis.call('HSETNX', KEYS[1], 'c', seen[1])
redis.call('HSET', KEYS[1], 'a', ARGV[1], 'i', string.format('%d', gap))
return gap
"""  # noqa: S105 - Lua source, not a secret

# KEYS: token hash, expiry index, stamp. ARGV: id, owners prefix. Returns 1 if the token was
# there.
DELETE_TOKEN = (
    TOKEN_HELPERS
    + """
local owner = redis.call('HGET', KEYS[1], 'p')
if not owner then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[2] .. owner, ARGV[1])
redis.call('ZREM', KEYS[2], entry_of(ARGV[1], owner))
bump_stamp(KEYS[3])
return 1
"""
)

# KEYS: the owner's set, expiry index, stamp. ARGV: owner, tokens prefix, batch size. Pops (SPOP)
# one batch of the owner's token ids; returns {tokens deleted, more left?}.
DELETE_PRINCIPAL_TOKENS = (
    TOKEN_HELPERS
    + """
local count = 0
for _, id in ipairs(redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))) do
  if redis.call('HGET', ARGV[2] .. id, 'p') == ARGV[1] then
    redis.call('DEL', ARGV[2] .. id)
    count = count + 1
  end
  redis.call('ZREM', KEYS[2], entry_of(id, ARGV[1]))
end
if count > 0 then
  bump_stamp(KEYS[3])
end
local more = 0
if redis.call('EXISTS', KEYS[1]) == 1 then more = 1 end
return {count, more}
"""
)

# KEYS: token expiry index, transient expiry index, stamp. ARGV: upper score bound ('(now_ms'),
# tokens prefix, owners prefix, transients prefix, batch size. Returns {tokens purged, more?}.
PURGE_EXPIRED = (
    TOKEN_HELPERS
    + """
local batch = tonumber(ARGV[5])
local purged = 0
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, batch)
for _, entry in ipairs(entries) do
  purged = purged + forget(KEYS[1], entry, ARGV[2], ARGV[3], true)
end
local names = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, batch)
for _, name in ipairs(names) do
  redis.call('DEL', ARGV[4] .. name)
  redis.call('ZREM', KEYS[2], name)
end
if purged > 0 then
  bump_stamp(KEYS[3])
end
return {purged, (#entries == batch or #names == batch) and 1 or 0}
"""
)

# KEYS: the record, transient expiry index. ARGV: '1' if a record is expected, the expected
# value, '1' if a new value is given, the new value, expires_at_ms, the record's name,
# transients prefix, how many stale index entries to sweep. Returns 1 if swapped.
SWAP_TRANSIENT = (
    TOKEN_HELPERS
    + """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then
    return 0
  end
elseif current ~= ARGV[2] then
  return 0
end
local now = server_ms()
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  redis.call('SET', KEYS[1], ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
  if tonumber(ARGV[5]) > now then
    redis.call('PEXPIREAT', KEYS[1], ARGV[5])
  end
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', below(now), 'LIMIT', 0, ARGV[8])
for _, name in ipairs(stale) do
  if redis.call('EXISTS', ARGV[7] .. name) == 0 then
    redis.call('ZREM', KEYS[2], name)
  end
end
return 1
"""
)
