-- The takeover part of a heartbeat: inbox, unread entries, idle entries. See scripts.rs.
local p, consumer, idle, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local stream = p .. 'stream'
--ROUTING--
local keep = {}
local inbox = redis.call('LPOP', p .. 'inbox:' .. consumer, count) or {}
for _, id in ipairs(inbox) do
  local sid = redis.call('HGET', p .. 'job:' .. id, 'sid')
  if sid and #redis.call('XPENDING', stream, 'aviary', sid, sid, 1, consumer) > 0 then
    keep[#keep + 1] = tonumber(id)
  end
end
local r = redis.call('XREADGROUP', 'GROUP', 'aviary', consumer, 'COUNT', count, 'STREAMS', stream, '>')
if r then
  for _, e in ipairs(r[1][2]) do
    if route(e[2][2], e[1]) then keep[#keep + 1] = tonumber(e[2][2]) end
  end
end
local c = redis.call('XAUTOCLAIM', stream, 'aviary', consumer, idle, '0-0', 'COUNT', count)
for _, e in ipairs(c[2]) do
  if e and e[2] then
    local id = e[2][2]
    local chat = redis.call('HGET', p .. 'job:' .. id, 'chat')
    if not chat or chat == '' then
      keep[#keep + 1] = tonumber(id)
    else
      local lk = p .. 'chat:' .. chat
      local owner = redis.call('GET', lk)
      if owner == consumer then
        keep[#keep + 1] = tonumber(id)
      elseif owner and redis.call('EXISTS', p .. 'alive:' .. owner) == 1 then
        forward(owner, id, e[1])
      else
        redis.call('SET', lk, consumer)
        for _, jid in ipairs(redis.call('ZRANGE', p .. 'lane:' .. chat, 0, -1)) do
          local sid = redis.call('HGET', p .. 'job:' .. jid, 'sid')
          if sid then
            redis.call('XCLAIM', stream, 'aviary', consumer, 0, sid, 'JUSTID')
            keep[#keep + 1] = tonumber(jid)
          end
        end
      end
    end
  end
end
return keep
