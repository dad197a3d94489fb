// Package kv is the handler's key-value state, whose writes are exactly-once with the event.
//
// The handler must be granted a namespace in the manifest (denied by default): `kv = true`
// (its own) or `kv = "name"` (shared by the handlers naming it). A run reads the committed
// state plus its own writes; its writes take effect only when it returns done or respond, in
// the same transaction that records the outcome, so a run that panics, times out, returns
// retry or is cut off by a crash leaves nothing behind and its re-run starts from the same
// state. Increment is added at commit time, so concurrent runs never lose one. Errors (a
// denial, a quota, a bad argument, the store) are returned, never a trap.
package kv

import (
	"encoding/json"
	"fmt"
	"strconv"

	"aviary.local/aviary"
)

// Get returns the value of key as this run sees it, and whether it is present.
func Get(key string) (string, bool, error) { return aviary.KVGet(key) }

// Set sets key to value.
func Set(key, value string) error { return aviary.KVSet(key, value, 0) }

// SetTTL sets key to value, expiring ttlSecs seconds after the run's commit (0: never).
func SetTTL(key, value string, ttlSecs uint32) error { return aviary.KVSet(key, value, ttlSecs) }

// Delete deletes key (absent: nothing to do).
func Delete(key string) error { return aviary.KVDelete(key) }

// Increment adds delta to the integer at key (absent: 0) and returns the value this run now
// sees. At commit the delta is added to whatever is committed then.
func Increment(key string, delta int32) (int64, error) {
	text, err := aviary.KVIncrement(key, delta)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("kv-increment: the host answered %q: %w", text, err)
	}
	return n, nil
}

// List returns up to limit keys (0: the most one call returns, 1,000) that start with prefix
// and sort after after (byte order; "" for the first page: pass the last key to continue).
func List(prefix, after string, limit uint32) ([]string, error) {
	return aviary.KVList(prefix, after, limit)
}

// GetJSON decodes the value of key into v; false when the key is absent.
func GetJSON(key string, v any) (bool, error) {
	text, ok, err := Get(key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return true, fmt.Errorf("kv: the value of `%s` is not the expected JSON: %w", key, err)
	}
	return true, nil
}

// SetJSON sets key to v encoded as JSON.
func SetJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("kv: cannot encode the value of `%s`: %w", key, err)
	}
	return Set(key, string(b))
}
