"""The Lua scripts of the Redis backend. Each runs atomically inside Redis (EVALSHA).

Key names are built inside the scripts from the prefix (``ARGV[1]``), so every key of one ledger must live
on one Redis node: a single instance, or a cluster with a hash tag in the prefix (``agentgov:{budget}:``).

Layout under the prefix ``P``: ``P l:<scope>`` hash window → limit; ``P scopes`` set of limited scopes;
``P c:<scope>:<window>:<start_ns>`` calendar spend; ``P r:<scope>:<width_ns>:<bucket>`` rolling spend;
``P h:<scope>`` hash request → held amount, ``P x:<scope>`` zset request → hold end (ms), ``P t:<scope>``
total held; ``P q:<request>`` the request's reservation (``usd|scope,scope``); ``P e:<event>`` applied event.
"""

from __future__ import annotations

from typing import Final

_PURGE: Final = """
local function purge(P, scope, now_ms)
  local hk, xk, tk = P .. 'h:' .. scope, P .. 'x:' .. scope, P .. 't:' .. scope
  local gone = redis.call('ZRANGEBYSCORE', xk, '-inf', now_ms)
  for _, r in ipairs(gone) do
    local amt = redis.call('HGET', hk, r)
    if amt then
      redis.call('DECRBY', tk, amt)
      redis.call('HDEL', hk, r)
    end
    redis.call('ZREM', xk, r)
  end
  return #gone
end
"""

CHECK: Final = (
    _PURGE
    + """
-- ARGV: prefix, request id, usd (-1 = only read), now_ms, expires_ms, request ttl ms, n scopes, then per scope:
-- scope, n windows, then per window: window, limit, kind ('c' | 'r'), start | width, first bucket, last bucket.
-- Returns {status, rows...}: status 0 refused, 1 held now, 2 held before (rows = {stored}), 3 read only;
-- rows are {scope, window, limit, spent, reserved} for every limited window.
local P, rid, usd, now_ms = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if usd >= 0 then
  local prior = redis.call('GET', P .. 'q:' .. rid)
  if prior then return {2, prior} end
end
local i = 8
local rows, scopes, refused = {}, {}, false
for s = 1, tonumber(ARGV[7]) do
  local scope, nwin = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  purge(P, scope, now_ms)
  local held = tonumber(redis.call('GET', P .. 't:' .. scope) or '0')
  for w = 1, nwin do
    local win, limit, kind = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
    local spent = 0
    if kind == 'c' then
      spent = tonumber(redis.call('GET', P .. 'c:' .. scope .. ':' .. win .. ':' .. ARGV[i + 3]) or '0')
    else
      local keys = {}
      for b = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]) do
        keys[#keys + 1] = P .. 'r:' .. scope .. ':' .. ARGV[i + 3] .. ':' .. b
      end
      for _, v in ipairs(redis.call('MGET', unpack(keys))) do
        if v then spent = spent + tonumber(v) end
      end
    end
    i = i + 6
    rows[#rows + 1] = {scope, win, limit, spent, held}
    if usd >= 0 and spent + held + usd > limit then refused = true end
  end
  if nwin > 0 then scopes[#scopes + 1] = scope end
end
if usd < 0 then return {3, unpack(rows)} end
if refused then return {0, unpack(rows)} end
for _, scope in ipairs(scopes) do
  redis.call('HSET', P .. 'h:' .. scope, rid, usd)
  redis.call('ZADD', P .. 'x:' .. scope, tonumber(ARGV[5]), rid)
  redis.call('INCRBY', P .. 't:' .. scope, usd)
end
redis.call('SET', P .. 'q:' .. rid, usd .. '|' .. table.concat(scopes, ','), 'PX', ARGV[6])
return {1, unpack(rows)}
"""
)

SETTLE: Final = """
-- ARGV: prefix, event ttl s, n items, then per item: event id, request id ('' = none), usd, n keys, then per
-- key: suffix, ttl s. Applies each item whose event was not applied before, in order; returns how many.
local P, ettl = ARGV[1], ARGV[2]
local i, applied = 4, 0
for n = 1, tonumber(ARGV[3]) do
  local rid, usd, nk = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local fresh = redis.call('SET', P .. 'e:' .. ARGV[i], '1', 'NX', 'EX', ettl)
  i = i + 4
  if fresh then
    applied = applied + 1
    for k = 1, nk do
      local key = P .. ARGV[i]
      redis.call('INCRBY', key, usd)
      redis.call('EXPIRE', key, ARGV[i + 1])
      i = i + 2
    end
    if rid ~= '' then
      local q = redis.call('GET', P .. 'q:' .. rid)
      if q then
        local scopes = string.sub(q, string.find(q, '|', 1, true) + 1)
        for scope in string.gmatch(scopes, '[^,]+') do
          local amt = redis.call('HGET', P .. 'h:' .. scope, rid)
          if amt then
            redis.call('DECRBY', P .. 't:' .. scope, amt)
            redis.call('HDEL', P .. 'h:' .. scope, rid)
          end
          redis.call('ZREM', P .. 'x:' .. scope, rid)
        end
        redis.call('DEL', P .. 'q:' .. rid)
      end
    end
  else
    i = i + 2 * nk
  end
end
return applied
"""

EXPIRE: Final = (
    _PURGE
    + """
-- ARGV: prefix, now_ms, scopes... Returns how many holds were dropped.
local n = 0
for s = 3, #ARGV do n = n + purge(ARGV[1], ARGV[s], tonumber(ARGV[2])) end
return n
"""
)
