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

from server.tokens import RESUME_TOKEN_TTL_S

__all__ = ["APPLY", "BEAT", "NODE_LOST", "NOT_ADMIN", "NOT_IDENTIFIED", "REAP", "SNAPSHOT"]

# APPLY refuses a request with {err = CODE}: a wire error code (protocol.ErrorCode) the
# node words for its request, or one of these, which are no wire codes.
NOT_IDENTIFIED: Final = "not_identified"
"""Only a user identified to an account may be made an operator."""
NOT_ADMIN: Final = "not_admin"
"""A server-wide request from someone who is no server admin."""
NODE_LOST: Final = "node_lost"
"""A hello through a node that was reaped and has not rejoined yet."""

_COMMON: Final = r"""
local claim_ttl_s = __CLAIM_TTL_S__
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
local function hash(key)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end
local function chan_record(c, name, creator)
  -- a channel as a node needs it; one that never existed is made, run by its creator
  if redis.call('EXISTS', 'tc:chan:' .. c) == 0 then
    redis.call('HSET', 'tc:chan:' .. c, 'name', name)
    if creator then
      redis.call('SADD', 'tc:ops:' .. c, creator)
      redis.call('SADD', 'tc:opsof:' .. creator, c)
    end
  end
  local h = hash('tc:chan:' .. c)
  return {c = c, name = h.name, topic = h.topic or '', by = h.topic_by or '',
          tts = h.topic_ts or '', tl = h.topic_lock or '0', io = h.invite_only or '0',
          ops = redis.call('SMEMBERS', 'tc:ops:' .. c),
          bans = redis.call('HVALS', 'tc:bans:' .. c),
          inv = redis.call('SMEMBERS', 'tc:invites:' .. c)}
end
local function user_of(s)
  local k = redis.call('GET', 'tc:sess:' .. s)
  if not k then return nil end
  if redis.call('HGET', 'tc:user:' .. k, 's') ~= s then return nil end
  return k
end
local function drop_user(k, s, n, reason, bye, by)
  -- take a user out of everything; with bye, its node closes its connection saying so
  -- (by: the key of the user who put them out; every node words the reason from it)
  local chans = redis.call('SMEMBERS', 'tc:uchans:' .. k)
  for _, c in ipairs(chans) do
    redis.call('HDEL', 'tc:members:' .. c, k)
    if redis.call('HLEN', 'tc:members:' .. c) == 0 then redis.call('SREM', 'tc:chans', c) end
  end
  redis.call('DEL', 'tc:uchans:' .. k, 'tc:user:' .. k, 'tc:sess:' .. s)
  redis.call('SREM', 'tc:nodesess:' .. n, s)
  redis.call('EXPIRE', 'tc:claim:' .. k, claim_ttl_s)  -- its tokens resume for a day more
  return emit({t = 'quit', s = s, k = k, r = reason, bye = bye, bk = by})
end
""".replace("__CLAIM_TTL_S__", str(RESUME_TOKEN_TTL_S))

APPLY: Final = _COMMON + r"""
-- ARGV[1]: JSON list of requests; ARGV[3]: channels per user; ARGV[4]: log length (0: all);
-- ARGV[5]: the highest id the calling node has seen (ids never go below it, even if Redis
-- lost its data)
-- ARGV[6]: JSON list of the account keys of server admins
local requests = cjson.decode(ARGV[1])
local max_channels = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local admins = {}
for _, a in ipairs(cjson.decode(ARGV[6])) do admins[a] = true end
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
local function enter(k, nick, c, name, acct)
  local rec = chan_record(c, name, acct)
  redis.call('HSET', 'tc:members:' .. c, k, nick)
  redis.call('SADD', 'tc:chans', c)
  redis.call('SADD', 'tc:uchans:' .. k, c)
  redis.call('SREM', 'tc:invites:' .. c, k)
  return rec
end
local function is_op(acct, c)
  if not acct then return false end
  return admins[acct] == true or redis.call('SISMEMBER', 'tc:ops:' .. c, acct) == 1
end
local function active_ban(scope, acct, k, addr)
  -- the ban that holds this user in scope ('' for the server), if any
  local fields = {'nick:' .. k}
  if acct then table.insert(fields, 'account:' .. acct) end
  if addr and addr ~= cjson.null then table.insert(fields, 'address:' .. addr) end
  for _, field in ipairs(fields) do
    local raw = redis.call('HGET', 'tc:bans:' .. scope, field)
    if raw then
      local ban = cjson.decode(raw)
      if ban['until'] == cjson.null or tonumber(ban['until']) > tonumber(ts) then return ban end
      redis.call('HDEL', 'tc:bans:' .. scope, field)
    end
  end
  return nil
end
local function refusal(c, acct, k, addr)
  -- why this user may not enter channel c, or nil
  if is_op(acct, c) then return nil end
  local ban = active_ban(c, acct, k, addr)
  if ban then return {err = 'banned', reason = ban.reason, ['until'] = ban['until']} end
  if redis.call('HGET', 'tc:chan:' .. c, 'invite_only') == '1'
      and redis.call('SISMEMBER', 'tc:invites:' .. c, k) == 0 then
    return {err = 'invite_only'}
  end
  return nil
end
local function leave_channel(k, c)
  redis.call('HDEL', 'tc:members:' .. c, k)
  redis.call('SREM', 'tc:uchans:' .. k, c)
  if redis.call('HLEN', 'tc:members:' .. c) == 0 then redis.call('SREM', 'tc:chans', c) end
end
local function acct_of(k)
  local acct = redis.call('HGET', 'tc:user:' .. k, 'acct')
  if acct then return acct end
  return nil
end
local function take_claim(k, nc)
  -- hold nick k under the new claim nc: the tokens of earlier claims are void (server.tokens)
  redis.call('SET', 'tc:claim:' .. k, nc)
  return nc
end
local function rename_claim(k, nk, nc)
  -- the claim a user renamed from k to nk holds it under: the same for the same key
  if nk == k then
    local held = redis.call('GET', 'tc:claim:' .. k)
    if held then return held end
  else
    redis.call('EXPIRE', 'tc:claim:' .. k, claim_ttl_s)
  end
  return take_claim(nk, nc)
end
local function rename(s, k, nk, nick, r, cl)
  -- move the user held by session s from key k to nk, now spelt nick, under claim cl
  local chans = redis.call('SMEMBERS', 'tc:uchans:' .. k)
  for _, c in ipairs(chans) do
    redis.call('HDEL', 'tc:members:' .. c, k)
    redis.call('HSET', 'tc:members:' .. c, nk, nick)
  end
  if nk ~= k then
    redis.call('RENAME', 'tc:user:' .. k, 'tc:user:' .. nk)
    if #chans > 0 then redis.call('RENAME', 'tc:uchans:' .. k, 'tc:uchans:' .. nk) end
    redis.call('SET', 'tc:sess:' .. s, nk)
  end
  redis.call('HSET', 'tc:user:' .. nk, 'nick', nick)
  return emit({t = 'nick', s = s, k = k, nk = nk, nick = nick, cl = cl}, r)
end

local handlers = {}

function handlers.hello(r)
  -- a node that was reaped takes no one in until it has rejoined (see BEAT)
  if redis.call('SISMEMBER', 'tc:nodes', r.n) == 0 then return {err = 'node_lost'} end
  local holder = hash('tc:user:' .. r.k)
  -- the node checked the token against claim r.cl: a resume if that is still the claim
  local resumed = r.takeover == 1 and redis.call('GET', 'tc:claim:' .. r.k) == r.cl
  if holder.s and not resumed then return {err = 'nick_taken'} end
  local acct = nil
  if redis.call('EXISTS', 'tc:account:' .. r.k) == 1 then
    if r.ident ~= 1 and not (resumed and r.tident == 1) then
      return {err = 'nick_registered'}
    end
    acct = r.k
  end
  local ban = active_ban('', acct, r.k, r.addr)
  if ban then return {err = 'banned', reason = ban.reason, ['until'] = ban['until']} end
  local kept = redis.call('SMEMBERS', 'tc:uchans:' .. r.k)
  local total = #kept  -- a resume keeps these: they count against the limit too
  for _, pair in ipairs(r.ch) do
    if not member_of(r.k, pair[1]) then total = total + 1 end
  end
  if total > max_channels then return {err = 'too_many_channels'} end
  local old = nil
  if holder.s then
    old = holder.s
    redis.call('DEL', 'tc:sess:' .. holder.s)
    redis.call('SREM', 'tc:nodesess:' .. holder.n, holder.s)
  end
  local wanted, refused = {}, {}
  for _, pair in ipairs(r.ch) do
    if member_of(r.k, pair[1]) then
      table.insert(wanted, chan_record(pair[1], pair[2]))
    else
      local no = refusal(pair[1], acct, r.k, r.addr)
      if no then
        no.c = pair[2]
        table.insert(refused, no)
      else
        table.insert(wanted, enter(r.k, r.nick, pair[1], pair[2], acct))
      end
    end
  end
  for _, c in ipairs(kept) do redis.call('HSET', 'tc:members:' .. c, r.k, r.nick) end
  redis.call('HSET', 'tc:user:' .. r.k, 's', r.s, 'n', r.n, 'nick', r.nick, 't', ts,
             'addr', r.addr)
  redis.call('HDEL', 'tc:user:' .. r.k, 'away', 'acct')
  if acct then redis.call('HSET', 'tc:user:' .. r.k, 'acct', acct) end
  redis.call('SET', 'tc:sess:' .. r.s, r.k)
  redis.call('SADD', 'tc:nodesess:' .. r.n, r.s)
  local claim = r.cl
  if resumed then redis.call('PERSIST', 'tc:claim:' .. r.k) else claim = take_claim(r.k, r.nc) end
  return {ev = emit({t = 'hello', s = r.s, n = r.n, k = r.k, nick = r.nick, ch = wanted,
                     rep = old, acct = acct, cl = claim, res = resumed}),
          refused = refused, acct = acct}
end

function handlers.join(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if member_of(k, r.c) then return {again = 1} end
  if redis.call('SCARD', 'tc:uchans:' .. k) >= max_channels then
    return {err = 'too_many_channels'}
  end
  local acct = acct_of(k)
  local no = refusal(r.c, acct, k, r.addr)
  if no then return no end
  local nick = redis.call('HGET', 'tc:user:' .. k, 'nick')
  local rec = enter(k, nick, r.c, r.name, acct)
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

local function nick_refusal(k, nk)
  -- why user k may not rename to nk: the nick is banned server-wide, or in a channel of k's
  -- (one k does not run), as moderation.nick_refusal
  local ban = active_ban('', nil, nk, nil)
  if ban then return {err = 'banned', reason = ban.reason, ['until'] = ban['until']} end
  local acct = acct_of(k)
  for _, c in ipairs(redis.call('SMEMBERS', 'tc:uchans:' .. k)) do
    ban = (not is_op(acct, c)) and active_ban(c, nil, nk, nil)
    if ban then
      return {err = 'banned', reason = ban.reason, ['until'] = ban['until'],
              c = redis.call('HGET', 'tc:chan:' .. c, 'name')}
    end
  end
  return nil
end

function handlers.nick(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if redis.call('HGET', 'tc:user:' .. k, 'nick') == r.nick then return {same = 1} end
  if r.nk ~= k and redis.call('EXISTS', 'tc:user:' .. r.nk) == 1 then
    return {err = 'nick_taken'}
  end
  if r.nk ~= acct_of(k) and redis.call('EXISTS', 'tc:account:' .. r.nk) == 1 then
    return {err = 'nick_registered'}
  end
  if r.nk ~= k then
    local no = nick_refusal(k, r.nk)
    if no then return no end
  end
  return {ev = rename(r.s, k, r.nk, r.nick, r, rename_claim(k, r.nk, r.nc))}
end

function handlers.topic(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if not member_of(k, r.c) then return {err = 'not_in_channel'} end
  if redis.call('HGET', 'tc:chan:' .. r.c, 'topic_lock') == '1'
      and not is_op(acct_of(k), r.c) then
    return {err = 'not_operator'}
  end
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

-- Accounts: the password was checked (or hashed) by the node.

function handlers.register(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if redis.call('EXISTS', 'tc:account:' .. k) == 1 then return {err = 'nick_registered'} end
  local nick = redis.call('HGET', 'tc:user:' .. k, 'nick')
  redis.call('HSET', 'tc:account:' .. k, 'nick', nick, 'salt', r.salt, 'digest', r.digest,
             'n', r.n, 'r', r.r, 'p', r.p, 'created', ts)
  redis.call('HSET', 'tc:user:' .. k, 'acct', k)
  return {ev = emit({t = 'account', s = r.s, k = k, acct = k}, r), nick = nick,
          cl = take_claim(k, r.nc)}
end

function handlers.identify(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  local account = hash('tc:account:' .. r.ak)
  if not account.nick then return {err = 'not_registered'} end
  local addr = redis.call('HGET', 'tc:user:' .. k, 'addr')
  local ban = active_ban('', r.ak, r.ak, addr)
  if ban then return {err = 'banned', reason = ban.reason, ['until'] = ban['until']} end
  local holder = hash('tc:user:' .. r.ak)
  if holder.s and holder.s ~= r.s then
    drop_user(r.ak, holder.s, holder.n, 'replaced by its owner', 'replaced')
  end
  if r.ak ~= k then redis.call('EXPIRE', 'tc:claim:' .. k, claim_ttl_s) end
  take_claim(r.ak, r.nc)  -- the holder's tokens are void now
  if r.ak ~= k or redis.call('HGET', 'tc:user:' .. k, 'nick') ~= account.nick then
    rename(r.s, k, r.ak, account.nick, nil, r.nc)
  end
  redis.call('HSET', 'tc:user:' .. r.ak, 'acct', r.ak)
  local ev = emit({t = 'account', s = r.s, k = r.ak, acct = r.ak}, r)
  for _, c in ipairs(redis.call('SMEMBERS', 'tc:uchans:' .. r.ak)) do
    -- put out of the channels that ban who they now are (as moderation.banned_in)
    ban = (not is_op(r.ak, c)) and active_ban(c, r.ak, r.ak, addr)
    if ban then
      leave_channel(r.ak, c)
      ev = emit({t = 'kick', s = r.s, c = c, tk = r.ak, r = ban.reason, ban = 1, bn = ban.by})
    end
  end
  return {ev = ev, nick = account.nick, cl = r.nc}
end

function handlers.set_password(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  local acct = acct_of(k)
  if not acct then return {err = 'not_registered'} end
  redis.call('HSET', 'tc:account:' .. acct, 'salt', r.salt, 'digest', r.digest, 'n', r.n,
             'r', r.r, 'p', r.p)
  return {nick = redis.call('HGET', 'tc:user:' .. k, 'nick'), cl = take_claim(k, r.nc)}
end

function handlers.unregister(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  local acct = acct_of(k)
  if not acct then return {err = 'not_registered'} end
  for _, c in ipairs(redis.call('SMEMBERS', 'tc:opsof:' .. acct)) do
    redis.call('SREM', 'tc:ops:' .. c, acct)
  end
  redis.call('DEL', 'tc:account:' .. acct, 'tc:opsof:' .. acct)
  redis.call('HDEL', 'tc:user:' .. k, 'acct')
  return {ev = emit({t = 'account', s = r.s, k = k, gone = acct}, r),
          nick = redis.call('HGET', 'tc:user:' .. k, 'nick'), cl = take_claim(k, r.nc)}
end

-- Moderation: operators (and server admins) run channels.

local function moderator(r)
  local k = user_of(r.s)
  if not k then return nil, {err = 'not_welcomed'} end
  local acct = acct_of(k)
  if r.c and r.c ~= cjson.null then
    if not member_of(k, r.c) then return nil, {err = 'not_in_channel'} end
    if not is_op(acct, r.c) then return nil, {err = 'not_operator'} end
  elseif not (acct and admins[acct]) then
    return nil, {err = 'not_admin'}
  end
  return k, nil
end

function handlers.kick(r)
  local k, no = moderator(r)
  if no then return no end
  if not member_of(r.tk, r.c) then return {err = 'no_such_user'} end
  leave_channel(r.tk, r.c)
  return {ev = emit({t = 'kick', s = r.s, k = k, c = r.c, tk = r.tk, r = r.r}, r)}
end

function handlers.ban(r)
  local k, no = moderator(r)
  if no then return no end
  local scope = ''
  if r.c and r.c ~= cjson.null then scope = r.c end
  local by = redis.call('HGET', 'tc:user:' .. k, 'nick')
  for _, ban in ipairs(r.bans) do
    ban.by = by
    redis.call('HSET', 'tc:bans:' .. scope, ban.kind .. ':' .. ban.value, cjson.encode(ban))
  end
  local ev = emit({t = 'ban', s = r.s, k = k, c = r.c, nick = r.nick, bans = r.bans}, r)
  if scope ~= '' and member_of(r.tk, scope) then
    leave_channel(r.tk, scope)
    ev = emit({t = 'kick', s = r.s, k = k, c = scope, tk = r.tk, r = r.r, ban = 1})
  elseif scope == '' then
    local target = hash('tc:user:' .. r.tk)
    if target.s then ev = drop_user(r.tk, target.s, target.n, r.r, 'banned', k) end
  end
  return {ev = ev}
end

function handlers.unban(r)
  local k, no = moderator(r)
  if no then return no end
  local scope = ''
  if r.c and r.c ~= cjson.null then scope = r.c end
  local gone = {}
  local flat = redis.call('HGETALL', 'tc:bans:' .. scope)
  for i = 1, #flat, 2 do
    local ban = cjson.decode(flat[i + 1])
    -- made on that nick, or holding that nick or that account (as Ban.lifted_by)
    if ban.target == r.tk or ((ban.kind == 'account' or ban.kind == 'nick')
                              and ban.value == r.tk) then
      redis.call('HDEL', 'tc:bans:' .. scope, flat[i])
      table.insert(gone, flat[i])
    end
  end
  return {ev = emit({t = 'unban', s = r.s, k = k, c = r.c, nick = r.nick, gone = gone}, r)}
end

function handlers.op(r)
  local k, no = moderator(r)
  if no then return no end
  local acct = acct_of(r.tk)
  if not acct and r.on == 1 then
    if redis.call('EXISTS', 'tc:user:' .. r.tk) == 0 then return {err = 'no_such_user'} end
    return {err = 'not_identified'}
  end
  if not acct then acct = r.tk end  -- operators are kept by account: deop an offline one
  if r.on == 1 then
    redis.call('SADD', 'tc:ops:' .. r.c, acct)
    redis.call('SADD', 'tc:opsof:' .. acct, r.c)
  else
    redis.call('SREM', 'tc:ops:' .. r.c, acct)
    redis.call('SREM', 'tc:opsof:' .. acct, r.c)
  end
  return {ev = emit({t = 'op', s = r.s, k = k, c = r.c, tk = r.tk, acct = acct, on = r.on,
                     nick = r.nick}, r)}
end

function handlers.mode(r)
  local k, no = moderator(r)
  if no then return no end
  if r.tl ~= nil and r.tl ~= cjson.null then
    redis.call('HSET', 'tc:chan:' .. r.c, 'topic_lock', r.tl and '1' or '0')
  end
  if r.io ~= nil and r.io ~= cjson.null then
    redis.call('HSET', 'tc:chan:' .. r.c, 'invite_only', r.io and '1' or '0')
  end
  return {ev = emit({t = 'mode', s = r.s, k = k, c = r.c, tl = r.tl, io = r.io}, r)}
end

function handlers.invite(r)
  local k = user_of(r.s)
  if not k then return {err = 'not_welcomed'} end
  if not member_of(k, r.c) then return {err = 'not_in_channel'} end
  if redis.call('HGET', 'tc:chan:' .. r.c, 'invite_only') == '1'
      and not is_op(acct_of(k), r.c) then
    return {err = 'not_operator'}
  end
  if redis.call('EXISTS', 'tc:user:' .. r.tk) == 0 then return {err = 'no_such_user'} end
  redis.call('SADD', 'tc:invites:' .. r.c, r.tk)
  return {ev = emit({t = 'invite', s = r.s, k = k, c = r.c, tk = r.tk}, r)}
end

function handlers.kill(r)
  local k, no = moderator(r)
  if no then return no end
  local target = hash('tc:user:' .. r.tk)
  if not target.s then return {err = 'no_such_user'} end
  return {ev = drop_user(r.tk, target.s, target.n, r.r, 'killed', k)}
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
-- ARGV[1]: node; ARGV[3]: heartbeat TTL in ms; ARGV[4]: highest id this node has seen;
-- ARGV[5]: 'first' when the node (re)joins, its view just loaded from a snapshot.
-- A node that REAP took out of tc:nodes stays out, answered 'reaped' at every beat, until
-- it rejoins: its users were removed, so it must close them and reload first. A node whose
-- key merely expired (Redis was away, nobody reaped it) just sets it again.
local node, ttl, seen = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
if tonumber(redis.call('GET', 'tc:seq') or '0') < seen then
  redis.call('SET', 'tc:seq', seen)
end
if ARGV[5] ~= 'first' and redis.call('SISMEMBER', 'tc:nodes', node) == 0 then
  return 'reaped'
end
redis.call('SET', 'tc:node:' .. node, ts, 'PX', ttl)
redis.call('SADD', 'tc:nodes', node)
return 'ok'
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
  table.insert(channels, {c, redis.call('HGETALL', 'tc:chan:' .. c),
                          redis.call('HGETALL', 'tc:members:' .. c),
                          redis.call('SMEMBERS', 'tc:ops:' .. c),
                          redis.call('HVALS', 'tc:bans:' .. c),
                          redis.call('SMEMBERS', 'tc:invites:' .. c)})
end
local users = {}
for _, node in ipairs(redis.call('SMEMBERS', 'tc:nodes')) do
  for _, s in ipairs(redis.call('SMEMBERS', 'tc:nodesess:' .. node)) do
    local k = redis.call('GET', 'tc:sess:' .. s)
    if k and redis.call('HGET', 'tc:user:' .. k, 's') == s then
      local u = redis.call('HMGET', 'tc:user:' .. k, 'nick', 't', 'away', 'acct')
      table.insert(users, {k, u[1], s, node, u[2] or '0', u[3] or '', u[4] or ''})
    end
  end
end
return cjson.encode({position = position, seq = tonumber(redis.call('GET', 'tc:seq') or '0'),
                     channels = channels, users = users})
"""
