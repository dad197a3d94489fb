-- Shared by commit.lua and take.lua (spliced in at their placeholder line): who runs an entry just read
-- into `consumer`'s PEL, and how an entry is forwarded to another consumer. See scripts.rs.
local function forward(owner, id, sid)
  redis.call('XCLAIM', stream, 'aviary', owner, 0, sid, 'JUSTID')
  redis.call('RPUSH', p .. 'inbox:' .. owner, id)
end
local function route(id, sid)
  local chat = redis.call('HGET', p .. 'job:' .. id, 'chat')
  if not chat or chat == '' then return true end
  local lk = p .. 'chat:' .. chat
  local owner = redis.call('GET', lk)
  if owner and owner ~= consumer and redis.call('ZCARD', p .. 'lane:' .. chat) > 1 then
    forward(owner, id, sid)
    return false
  end
  redis.call('SET', lk, consumer)
  return true
end
