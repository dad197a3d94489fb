-- Deletes the liveness key if it is still ours. See scripts.rs.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
