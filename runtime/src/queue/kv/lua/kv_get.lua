-- The live value of ARGV[3] in namespace ARGV[2] (prefix ARGV[1]), or false.
local p, ns, key = ARGV[1], ARGV[2], ARGV[3]
local v = redis.call('GET', p .. 'kv:' .. ns .. ':' .. key)
if not v then return false end
local at = redis.call('ZSCORE', p .. 'kvexp', ns .. ':' .. key)
if at then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if tonumber(at) <= now then return false end
end
return v
