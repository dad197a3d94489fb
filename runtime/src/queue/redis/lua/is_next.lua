-- Whether a chat's job is the head of its lane and still ours. See scripts.rs.
local p, consumer, chat, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local sid = redis.call('HGET', p .. 'job:' .. id, 'sid')
if not sid then return 2 end
if #redis.call('XPENDING', p .. 'stream', 'aviary', sid, sid, 1, consumer) == 0 then return 2 end
local head = redis.call('ZRANGE', p .. 'lane:' .. chat, 0, 0)
if #head > 0 and head[1] ~= id then return 0 end
return 1
