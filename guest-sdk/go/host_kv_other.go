//go:build !wasip1

// Outside wasip1 (go test on the host) the key-value imports are an in-memory map: writes
// apply at once (there is no commit outside the runtime). SetTestKV, TestKV and DenyTestKV
// set it up and read it back.

package aviary

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

var (
	testKV     = map[string]string{}
	testDenied bool
)

func kvGranted(op string) error {
	if testDenied {
		return errors.New(op + ": denied: handler `test` has no key-value grant")
	}
	return nil
}

// KVGet is kv.Get; use package kv.
func KVGet(key string) (string, bool, error) {
	testMu.Lock()
	defer testMu.Unlock()
	if err := kvGranted("kv-get"); err != nil {
		return "", false, err
	}
	v, ok := testKV[key]
	return v, ok, nil
}

// KVSet is kv.SetTTL; use package kv.
func KVSet(key, value string, ttlSecs uint32) error {
	testMu.Lock()
	defer testMu.Unlock()
	if err := kvGranted("kv-set"); err != nil {
		return err
	}
	testKV[key] = value
	return nil
}

// KVDelete is kv.Delete; use package kv.
func KVDelete(key string) error {
	testMu.Lock()
	defer testMu.Unlock()
	if err := kvGranted("kv-delete"); err != nil {
		return err
	}
	delete(testKV, key)
	return nil
}

// KVIncrement is kv.Increment (the new value as decimal text); use package kv.
func KVIncrement(key string, delta int32) (string, error) {
	testMu.Lock()
	defer testMu.Unlock()
	if err := kvGranted("kv-increment"); err != nil {
		return "", err
	}
	var n int64
	if v, ok := testKV[key]; ok {
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil || strconv.FormatInt(p, 10) != v {
			return "", fmt.Errorf("kv-increment: the value of `%s` is not an integer", key)
		}
		n = p
	}
	n += int64(delta)
	testKV[key] = strconv.FormatInt(n, 10)
	return testKV[key], nil
}

// KVList is kv.List; use package kv.
func KVList(prefix, after string, limit uint32) ([]string, error) {
	testMu.Lock()
	defer testMu.Unlock()
	if err := kvGranted("kv-list"); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 1000
	}
	keys := []string{}
	for k := range testKV {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if uint32(len(keys)) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}

// SetTestKV replaces the key-value state the shim answers package kv with, and grants access
// (tests only).
func SetTestKV(values map[string]string) {
	testMu.Lock()
	defer testMu.Unlock()
	testKV = map[string]string{}
	for k, v := range values {
		testKV[k] = v
	}
	testDenied = false
}

// TestKV returns a copy of the shim's key-value state (tests only).
func TestKV() map[string]string {
	testMu.Lock()
	defer testMu.Unlock()
	out := map[string]string{}
	for k, v := range testKV {
		out[k] = v
	}
	return out
}

// DenyTestKV makes every package kv call fail as without a grant (tests only).
func DenyTestKV() {
	testMu.Lock()
	defer testMu.Unlock()
	testDenied = true
}
