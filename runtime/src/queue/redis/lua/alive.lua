-- Sets or renews an instance's liveness key. See scripts.rs.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and cur ~= ARGV[2] then
  return cur
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
