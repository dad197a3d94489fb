-- Key-value writes without a job (KvStore::apply: runs without the queue, operators): ARGV[1] is
-- the prefix, then the key-value section of commit.lua (kv.lua), with job '0'.
local p = ARGV[1]
--KV--
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
kv_commit(2, now, {})
return 1
