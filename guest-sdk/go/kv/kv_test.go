package kv_test

import (
	"reflect"
	"strings"
	"testing"

	"aviary.local/aviary"
	"aviary.local/aviary/kv"
)

func TestGetSetDeleteIncrementListJSON(t *testing.T) {
	aviary.SetTestKV(map[string]string{"a": "1"})
	if v, ok, err := kv.Get("a"); v != "1" || !ok || err != nil {
		t.Fatalf("get a: %q %v %v", v, ok, err)
	}
	if _, ok, _ := kv.Get("missing"); ok {
		t.Fatal("missing is absent")
	}
	if n, err := kv.Increment("a", 4); n != 5 || err != nil {
		t.Fatalf("increment: %d %v", n, err)
	}
	if n, err := kv.Increment("n", -2); n != -2 || err != nil {
		t.Fatalf("increment absent: %d %v", n, err)
	}
	_ = kv.SetTTL("b/1", "x", 60)
	_ = kv.Set("b/2", "y")
	if _, err := kv.Increment("b/1", 1); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("increment text: %v", err)
	}
	if keys, _ := kv.List("b/", "", 0); !reflect.DeepEqual(keys, []string{"b/1", "b/2"}) {
		t.Fatalf("list: %v", keys)
	}
	if keys, _ := kv.List("b/", "b/1", 10); !reflect.DeepEqual(keys, []string{"b/2"}) {
		t.Fatalf("list after: %v", keys)
	}
	if keys, _ := kv.List("", "", 2); !reflect.DeepEqual(keys, []string{"a", "b/1"}) {
		t.Fatalf("list limit: %v", keys)
	}
	_ = kv.Delete("a")
	if _, ok, _ := kv.Get("a"); ok {
		t.Fatal("deleted")
	}
	type turns struct{ Turns []string }
	if err := kv.SetJSON("j", turns{[]string{"hi"}}); err != nil {
		t.Fatal(err)
	}
	var got turns
	if ok, err := kv.GetJSON("j", &got); !ok || err != nil || got.Turns[0] != "hi" {
		t.Fatalf("json: %v %v %v", ok, err, got)
	}
	if _, err := kv.GetJSON("b/2", &got); err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Fatalf("bad json: %v", err)
	}
	if len(aviary.TestKV()) != 4 {
		t.Fatalf("state: %v", aviary.TestKV())
	}
}

func TestDeniedCallsAreErrors(t *testing.T) {
	aviary.SetTestKV(nil)
	aviary.DenyTestKV()
	if _, _, err := kv.Get("a"); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("get: %v", err)
	}
	if err := kv.Set("a", "1"); err == nil {
		t.Fatal("set denied")
	}
	if _, err := kv.Increment("a", 1); err == nil {
		t.Fatal("increment denied")
	}
	aviary.SetTestKV(nil)
	if err := kv.Set("a", "1"); err != nil {
		t.Fatal(err)
	}
}
