-- One QueueStore::commit: settlements, then admissions (dedupe, capacity, chat routing), then
-- the dedupe set's bounds. See scripts.rs and admission.rs.
local p, consumer = ARGV[1], ARGV[2]
local window = math.max(tonumber(ARGV[3]), 1)
local cap = tonumber(ARGV[4])
local max_ids = tonumber(ARGV[5])
local prune = tonumber(ARGV[6])
local stream = p .. 'stream'
--ROUTING--
--KV--
local i = 7
local ns = tonumber(ARGV[i]); i = i + 1
local applied = {}
for _ = 1, ns do
  local kind, id, rec = ARGV[i], ARGV[i + 1], ARGV[i + 2]; i = i + 3
  local jk = p .. 'job:' .. id
  local sid = redis.call('HGET', jk, 'sid')
  if sid then
    local mine = redis.call('XPENDING', stream, 'aviary', sid, sid, 1, consumer)
    if #mine > 0 then
      applied[id] = true
      if kind == 'R' then
        redis.call('HSET', jk, 'rec', rec)
      else
        local chat = redis.call('HGET', jk, 'chat')
        redis.call('XACK', stream, 'aviary', sid)
        redis.call('XDEL', stream, sid)
        redis.call('DEL', jk)
        if kind == 'X' then
          redis.call('XADD', p .. 'dead', '*', 'id', id, 'rec', rec, 'chat', chat or '')
        end
        if chat and chat ~= '' then
          local lane = p .. 'lane:' .. chat
          redis.call('ZREM', lane, id)
          if redis.call('ZCARD', lane) == 0 then
            redis.call('DEL', p .. 'chat:' .. chat)
          end
        end
      end
    end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = p .. 'dedupe_ids'
local na = tonumber(ARGV[i]); i = i + 1
local out, extra, away, target, added = {}, {}, {}, {}, 0
for _ = 1, na do
  local did, rec, chat = ARGV[i], ARGV[i + 1], ARGV[i + 2]; i = i + 3
  local dk = p .. 'dedupe:' .. did
  if redis.call('EXISTS', dk) == 1 then
    out[#out + 1] = 0
  elseif redis.call('XLEN', stream) >= cap then
    out[#out + 1] = -1
  else
    redis.call('SET', dk, '1', 'PX', window)
    redis.call('ZADD', ids, now, did)
    local id = redis.call('INCR', p .. 'next_id')
    local sid = redis.call('XADD', stream, '*', 'job', id)
    redis.call('HSET', p .. 'job:' .. id, 'rec', rec, 'sid', sid, 'chat', chat)
    if chat ~= '' then
      local lane = p .. 'lane:' .. chat
      redis.call('ZADD', lane, id, id)
      local lk = p .. 'chat:' .. chat
      local owner = redis.call('GET', lk)
      if redis.call('ZCARD', lane) > 1 and owner and owner ~= consumer then
        target[tostring(id)] = owner
      else
        redis.call('SET', lk, consumer)
      end
    end
    out[#out + 1] = id
    added = added + 1
  end
end
-- The dedupe set's bounds: ids older than the window leave the index (their keys expired),
-- and beyond max_ids the oldest are forgotten (bounded work per commit).
local old = redis.call('ZRANGEBYSCORE', ids, '-inf', now - window, 'LIMIT', 0, prune)
if #old > 0 then redis.call('ZREM', ids, unpack(old)) end
local over = redis.call('ZCARD', ids) - max_ids
if over > 0 then
  local popped = redis.call('ZPOPMIN', ids, math.min(over, prune + added))
  for k = 1, #popped, 2 do
    redis.call('DEL', p .. 'dedupe:' .. popped[k])
  end
end
if added > 0 then
  local r = redis.call('XREADGROUP', 'GROUP', 'aviary', consumer, 'STREAMS', stream, '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      local id = e[2][2]
      local owner = target[id]
      if owner then
        forward(owner, id, e[1])
        away[#away + 1] = tonumber(id)
      elseif route(id, e[1]) then
        extra[#extra + 1] = tonumber(id)
      end
    end
  end
end
-- Key-value writes of the settled jobs whose settlement was applied above (kv.lua).
kv_commit(i, now, applied)
return {out, extra, away}
