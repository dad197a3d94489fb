-- Deletes the consumers of stopped instances once they hold nothing. See scripts.rs.
local stream, me, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'aviary')) do
  local f = {}
  for k = 1, #c, 2 do f[c[k]] = c[k + 1] end
  if f['name'] ~= me and tonumber(f['pending']) == 0 and tonumber(f['idle']) > limit then
    redis.call('XGROUP', 'DELCONSUMER', stream, 'aviary', f['name'])
  end
end
return 0
