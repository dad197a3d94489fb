-- Up to ARGV[5] live keys of namespace ARGV[2] (prefix ARGV[1]) in the lex range ARGV[3] ..
-- ARGV[4] (ZRANGEBYLEX bounds, computed by the caller from the prefix and `after`).
local p, ns, min, max, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local idx, exp = p .. 'kvkeys:' .. ns, p .. 'kvexp'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
while #out < limit do
  local keys = redis.call('ZRANGEBYLEX', idx, min, max, 'LIMIT', 0, limit - #out)
  if #keys == 0 then break end
  for _, key in ipairs(keys) do
    local at = redis.call('ZSCORE', exp, ns .. ':' .. key)
    if not at or tonumber(at) > now then out[#out + 1] = key end
  end
  min = '(' .. keys[#keys]
end
return out
