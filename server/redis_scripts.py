"""The Lua scripts that decide everything a cluster shares, inside Redis, atomically.

Each script checks a request against the shared state, changes it, and appends
what it decided to one stream, ``tc:events``, which every node reads in order.
Because a script runs alone, the order of the stream is the order of the
decisions: message ids (``INCR tc:seq``) grow along it, and a message is in its
channel's log (``tc:log:{channel}``) before any node can read its event. The
key layout is described in docs/CLUSTER.md. Numbers that must keep every digit
(timestamps) travel as strings: Lua's JSON encoder keeps only 14.
"""

from __future__ import annotations

from typing import Final

__all__ = ["APPLY", "BEAT", "REAP", "SNAPSHOT"]

_COMMON: Final = r"""
local function now()
  local t = redis.call('TIME')
  return t[1], t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
local sec, ts = now()
local retention_ms = tonumber(ARGV[2])
local minid = tostring(tonumber(sec) * 1000 - retention_ms) .. '-0'
local function emit(event, request)
  event.ts = ts
  if request then event.tag = request.tag end
  return redis.call('XADD', 'tc:events', 'MINID', '~', minid, '*', 'e', cjson.encode(event))
end
local function chan_record(c, name)
  local rec = redis.call('HGETALL', 'tc:chan:' .. c)
  if #rec == 0 then
    redis.call('HSET', 'tc:chan:' .. c, 'name', name)
    return {c, name}
  end
  local h = {}
  for i = 1, #rec, 2 do h[rec[i]] = rec[i + 1] end
  return {c, h.name, h.topic or '', h.topic_by or '', h.topic_ts or ''}
end
local function user_of(s)
  local k = redis.call('GET', 'tc:sess:' .. s)
  if not k then return nil end
  if redis.call('HGET', 'tc:user:' .. k, 's') ~= s then return nil end
  return k
end
local function drop_user(k, s, n, reason)
  local chans = redis.call('SMEMBERS', 'tc:uchans:' .. k)
  for _, c in ipairs(chans) do
    redis.call('HDEL', 'tc:members:' .. c, k)
    if redis.call('HLEN', 'tc:members:' .. c) == 0 then redis.call('SREM', 'tc:chans', c) end
  end
  redis.call('DEL', 'tc:uchans:' .. k, 'tc:user:' .. k, 'tc:sess:' .. s)
  redis.call('SREM', 'tc:nodesess:' .. n, s)
  return emit({t = 'quit', s = s, k = k, r = reason})
end
"""

APPLY: Final = _COMMON + r"""
-- ARGV[1]: JSON list of requests; ARGV[3]: channels per user; ARGV[4]: log length (0: all);
-- ARGV[5]: the highest id the calling node has seen (ids never go below it, even if Redis
-- lost its data)
local requests = cjson.decode(ARGV[1])
local max_channels = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
if tonumber(redis.call('GET', 'tc:seq') or '0') < tonumber(ARGV[5]) then
  redis.call('SET', 'tc:seq', ARGV[5])
end
local function log_add(stream, id, fields)
  if keep > 0 then
    return redis.call('XADD', stream, 'MAXLEN', '~', keep, id .. '-1', unpack(fields))
  end
  return redis.call('XADD', stream, id .. '-1', unpack(fields))
end
local function member_of(k, c)
  return redis.call('SISMEMBER', 'tc:uchans:' .. k, c) == 1
end
local function enter(k, nick, c, name)
  redis.call('HSET', 'tc:members:' .. c, k, nick)
  redis.call('SADD', 'tc:chans', c)
  redis.call('SADD', 'tc:uchans:' .. k, c)
  return chan_record(c, name)
end

local handlers = {}

function handlers.hello(r)
  local holder = redis.call('HGETALL', 'tc:user:' .. r.k)
  local old = nil
  if #holder > 0 then
    if r.takeover ~= 1 then return {err = 'nick_taken'} end
    local h = {}
    for i = 1, #holder, 2 do h[holder[i]] = holder[i + 1] end
    old = h.s
    redis.call('DEL', 'tc:sess:' .. h.s)
    redis.call('SREM', 'tc:nodesess:' .. h.n, h.s)
  end
  local kept = redis.call('SMEMBERS', 'tc:uchans:' .. r.k)
  local wanted = {}
  for _, pair in ipairs(r.ch) do
    if not member_of(r.k, pair[1]) then
      table.insert(wanted, enter(r.k, r.nick, pair[1], pair[2]))
    else
      table.insert(wanted, chan_record(pair[1], pair[2]))
    end
  end
  for _, c in ipairs(kept) do redis.call('HSET', 'tc:members:' .. c, r.k, r.nick) end
  redis.call('HSET', 'tc:user:' .. r.k, 's', r.s, 'n', r.n, 'nick', r.nick, 't', ts)
  redis.call('HDEL', 'tc:user:' .. r.k, 'away')
  redis.call('SET', 'tc:sess:' .. r.s, r.k)
  redis.call('SADD', 'tc:nodesess:' .. r.n, r.s)
  return {ev = emit({t = 'hello', s = r.s, n = r.n, k = r.k, nick = r.nick, ch = wanted,
                     rep = old})}
end

function handlers.join(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if member_of(k, r.c) then return {again = 1} end
  if redis.call('SCARD', 'tc:uchans:' .. k) >= max_channels then
    return {err = 'too_many_channels'}
  end
  local nick = redis.call('HGET', 'tc:user:' .. k, 'nick')
  local rec = enter(k, nick, r.c, r.name)
  return {ev = emit({t = 'join', s = r.s, k = k, ch = rec, since = r.since}, r)}
end

function handlers.part(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if not member_of(k, r.c) then return {err = 'not_in_channel'} end
  redis.call('HDEL', 'tc:members:' .. r.c, k)
  redis.call('SREM', 'tc:uchans:' .. k, r.c)
  if redis.call('HLEN', 'tc:members:' .. r.c) == 0 then redis.call('SREM', 'tc:chans', r.c) end
  return {ev = emit({t = 'part', s = r.s, k = k, c = r.c, r = r.r}, r)}
end

function handlers.say(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if not member_of(k, r.c) then return {err = 'not_in_channel'} end
  local nick = redis.call('HGET', 'tc:user:' .. k, 'nick')
  local id = redis.call('INCR', 'tc:seq')
  log_add('tc:log:' .. r.c, id, {'ts', ts, 'from', nick, 'text', r.text, 'a', r.a})
  return {ev = emit({t = 'msg', id = id, s = r.s, k = k, from = nick, text = r.text, a = r.a,
                     c = r.c}, r)}
end

function handlers.tell(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  local to = redis.call('HGET', 'tc:user:' .. r.tk, 'nick')
  if not to then return {err = 'no_such_user'} end
  local nick = redis.call('HGET', 'tc:user:' .. k, 'nick')
  local id = redis.call('INCR', 'tc:seq')
  local fields = {'ts', ts, 'from', nick, 'to', to, 'text', r.text}
  log_add('tc:pm:' .. k, id, fields)
  if r.tk ~= k then log_add('tc:pm:' .. r.tk, id, fields) end
  return {ev = emit({t = 'msg', id = id, s = r.s, k = k, from = nick, text = r.text, to = to,
                     tk = r.tk}, r)}
end

function handlers.nick(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if redis.call('HGET', 'tc:user:' .. k, 'nick') == r.nick then return {same = 1} end
  if r.nk ~= k and redis.call('EXISTS', 'tc:user:' .. r.nk) == 1 then
    return {err = 'nick_taken'}
  end
  local chans = redis.call('SMEMBERS', 'tc:uchans:' .. k)
  for _, c in ipairs(chans) do
    redis.call('HDEL', 'tc:members:' .. c, k)
    redis.call('HSET', 'tc:members:' .. c, r.nk, r.nick)
  end
  if r.nk ~= k then
    redis.call('RENAME', 'tc:user:' .. k, 'tc:user:' .. r.nk)
    if #chans > 0 then redis.call('RENAME', 'tc:uchans:' .. k, 'tc:uchans:' .. r.nk) end
    redis.call('SET', 'tc:sess:' .. r.s, r.nk)
  end
  redis.call('HSET', 'tc:user:' .. r.nk, 'nick', r.nick)
  return {ev = emit({t = 'nick', s = r.s, k = k, nk = r.nk, nick = r.nick}, r)}
end

function handlers.topic(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if not member_of(k, r.c) then return {err = 'not_in_channel'} end
  local nick = redis.call('HGET', 'tc:user:' .. k, 'nick')
  redis.call('HSET', 'tc:chan:' .. r.c, 'topic', r.text, 'topic_by', nick, 'topic_ts', ts)
  return {ev = emit({t = 'topic', s = r.s, k = k, c = r.c, text = r.text, by = nick}, r)}
end

function handlers.away(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if r.text ~= nil and r.text ~= cjson.null then
    redis.call('HSET', 'tc:user:' .. k, 'away', r.text)
  else
    redis.call('HDEL', 'tc:user:' .. k, 'away')
  end
  return {ev = emit({t = 'away', s = r.s, k = k, text = r.text}, r)}
end

function handlers.quit(r)
  local k = user_of(r.s)
  if not k then return {gone = 1} end
  local n = redis.call('HGET', 'tc:user:' .. k, 'n')
  return {ev = drop_user(k, r.s, n, r.r)}
end

local results = {}
for i, r in ipairs(requests) do
  results[i] = handlers[r.op](r)
end
return cjson.encode(results)
"""

BEAT: Final = _COMMON + r"""
-- ARGV[1]: node; ARGV[3]: heartbeat TTL in ms; ARGV[4]: highest id this node has seen
local node, ttl, seen = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local known = redis.call('SISMEMBER', 'tc:nodes', node) == 1
local alive = redis.call('EXISTS', 'tc:node:' .. node) == 1
if tonumber(redis.call('GET', 'tc:seq') or '0') < seen then
  redis.call('SET', 'tc:seq', seen)
end
redis.call('SET', 'tc:node:' .. node, ts, 'PX', ttl)
redis.call('SADD', 'tc:nodes', node)
if ARGV[5] == 'first' then return 'ok' end
if known and alive then return 'ok' end
return 'reaped'
"""

REAP: Final = _COMMON + r"""
-- ARGV[1]: the reason dead nodes' users leave with; returns how many sessions went
local gone = 0
for _, node in ipairs(redis.call('SMEMBERS', 'tc:nodes')) do
  if redis.call('EXISTS', 'tc:node:' .. node) == 0 then
    for _, s in ipairs(redis.call('SMEMBERS', 'tc:nodesess:' .. node)) do
      local k = redis.call('GET', 'tc:sess:' .. s)
      if k and redis.call('HGET', 'tc:user:' .. k, 's') == s then
        drop_user(k, s, node, ARGV[1])
        gone = gone + 1
      end
    end
    redis.call('DEL', 'tc:nodesess:' .. node)
    redis.call('SREM', 'tc:nodes', node)
  end
end
return gone
"""

SNAPSHOT: Final = r"""
-- everything a starting node needs, and the stream position it is true at
local last = redis.call('XREVRANGE', 'tc:events', '+', '-', 'COUNT', 1)
local position = '0-0'
if #last > 0 then position = last[1][1] end
local channels = {}
for _, c in ipairs(redis.call('SMEMBERS', 'tc:chans')) do
  local rec = redis.call('HGETALL', 'tc:chan:' .. c)
  local members = redis.call('HGETALL', 'tc:members:' .. c)
  table.insert(channels, {c, rec, members})
end
local users = {}
for _, node in ipairs(redis.call('SMEMBERS', 'tc:nodes')) do
  for _, s in ipairs(redis.call('SMEMBERS', 'tc:nodesess:' .. node)) do
    local k = redis.call('GET', 'tc:sess:' .. s)
    if k and redis.call('HGET', 'tc:user:' .. k, 's') == s then
      local u = redis.call('HMGET', 'tc:user:' .. k, 'nick', 't', 'away')
      table.insert(users, {k, u[1], s, node, u[2] or '0', u[3] or ''})
    end
  end
end
return cjson.encode({position = position, seq = tonumber(redis.call('GET', 'tc:seq') or '0'),
                     channels = channels, users = users})
"""
