-- Moves dead letters back into the stream. See scripts.rs.
local p = ARGV[1]
local moved = {}
local i = 2
while i <= #ARGV do
  local id, dsid, rec, chat = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]; i = i + 4
  if redis.call('XDEL', p .. 'dead', dsid) == 1 then
    local sid = redis.call('XADD', p .. 'stream', '*', 'job', id)
    redis.call('HSET', p .. 'job:' .. id, 'rec', rec, 'sid', sid, 'chat', chat)
    if chat ~= '' then
      redis.call('ZADD', p .. 'lane:' .. chat, id, id)
    end
    moved[#moved + 1] = tonumber(id)
  end
end
return moved
