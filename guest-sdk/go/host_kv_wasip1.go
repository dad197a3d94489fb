//go:build wasip1

// The canonical-ABI glue of the key-value imports (kv-get, kv-set, kv-delete, kv-increment,
// kv-list), written by hand like host_wasip1.go. Every result is returned through a return
// area the host writes (strings and lists into memory from the argument arena):
//
//	kv-get(key) -> result<option<string>, string>
//	  [0] u8 result tag, ok: [4] u8 option tag, [8] ptr, [12] len; err: [4] ptr, [8] len
//	kv-set(key, value, ttl u32) / kv-delete(key) -> result<_, string>
//	  [0] tag, err: [4] ptr, [8] len
//	kv-increment(key, delta s32) -> result<string, string>: [0] tag, [4] ptr, [8] len
//	kv-list(prefix, after, limit u32) -> result<list<string>, string>
//	  [0] tag, ok: [4] ptr to len × (ptr, len) u32 pairs, [8] len; err: [4] ptr, [8] len

package aviary

import (
	"errors"
	"unsafe"
)

//go:wasmimport $root kv-get
func wasmKVGet(kptr unsafe.Pointer, klen uint32, ret unsafe.Pointer)

//go:wasmimport $root kv-set
func wasmKVSet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32, ttl uint32, ret unsafe.Pointer)

//go:wasmimport $root kv-delete
func wasmKVDelete(kptr unsafe.Pointer, klen uint32, ret unsafe.Pointer)

//go:wasmimport $root kv-increment
func wasmKVIncrement(kptr unsafe.Pointer, klen uint32, delta int32, ret unsafe.Pointer)

//go:wasmimport $root kv-list
func wasmKVList(pptr unsafe.Pointer, plen uint32, aptr unsafe.Pointer, alen uint32, limit uint32, ret unsafe.Pointer)

func strData(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// kvErr is the error of a result whose tag is err (string at [4], [8]).
func kvErr(area *[4]uint32) error {
	if area[0]&0xff == 0 {
		return nil
	}
	return errors.New(liftString(area[1], area[2]))
}

// KVGet is kv.Get; use package kv.
func KVGet(key string) (string, bool, error) {
	var area [4]uint32
	wasmKVGet(strData(key), uint32(len(key)), unsafe.Pointer(&area))
	defer argArenaReset()
	if err := kvErr(&area); err != nil {
		return "", false, err
	}
	if area[1]&0xff == 0 {
		return "", false, nil
	}
	return liftString(area[2], area[3]), true, nil
}

// KVSet is kv.SetTTL; use package kv.
func KVSet(key, value string, ttlSecs uint32) error {
	var area [4]uint32
	wasmKVSet(strData(key), uint32(len(key)), strData(value), uint32(len(value)), ttlSecs, unsafe.Pointer(&area))
	defer argArenaReset()
	return kvErr(&area)
}

// KVDelete is kv.Delete; use package kv.
func KVDelete(key string) error {
	var area [4]uint32
	wasmKVDelete(strData(key), uint32(len(key)), unsafe.Pointer(&area))
	defer argArenaReset()
	return kvErr(&area)
}

// KVIncrement is kv.Increment (the new value as decimal text); use package kv.
func KVIncrement(key string, delta int32) (string, error) {
	var area [4]uint32
	wasmKVIncrement(strData(key), uint32(len(key)), delta, unsafe.Pointer(&area))
	defer argArenaReset()
	if err := kvErr(&area); err != nil {
		return "", err
	}
	return liftString(area[1], area[2]), nil
}

// KVList is kv.List; use package kv.
func KVList(prefix, after string, limit uint32) ([]string, error) {
	var area [4]uint32
	wasmKVList(strData(prefix), uint32(len(prefix)), strData(after), uint32(len(after)), limit, unsafe.Pointer(&area))
	defer argArenaReset()
	if err := kvErr(&area); err != nil {
		return nil, err
	}
	n := area[2]
	keys := make([]string, 0, n)
	if n == 0 {
		return keys, nil
	}
	pairs := unsafe.Slice((*uint32)(unsafe.Add(unsafe.Pointer(nil), uintptr(area[1]))), 2*n)
	for i := uint32(0); i < n; i++ {
		keys = append(keys, liftString(pairs[2*i], pairs[2*i+1]))
	}
	return keys, nil
}
