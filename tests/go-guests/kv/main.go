// The key-value test guest in Go (tests/tests/kv_guests.rs; the same steps as the Rust,
// JavaScript and Python ones): adds 1 to `visits`, sets `last` to the event id and reads it
// back, sets and deletes `tmp`, lists every key, tries to add to the text in `last`, and
// answers what it saw as JSON — or {"error": …} when the first call fails (no grant). Event
// type `kv.retry` asks for a retry after the same calls.
package main

import (
	"aviary.local/aviary"
	"aviary.local/aviary/kv"
)

func init() {
	aviary.Handle(func(ev aviary.Event) aviary.Outcome {
		visits, err := kv.Increment("visits", 1)
		if err != nil {
			return aviary.Respond(map[string]any{"error": err.Error()})
		}
		if err := kv.Set("last", ev.EventID); err != nil {
			return aviary.Respond(map[string]any{"error": err.Error()})
		}
		last, _, _ := kv.Get("last")
		_ = kv.SetTTL("tmp", "x", 60)
		_ = kv.Delete("tmp")
		var tmp any
		if v, ok, _ := kv.Get("tmp"); ok {
			tmp = v
		}
		keys, _ := kv.List("", "", 0)
		bad := ""
		if _, err := kv.Increment("last", 1); err != nil {
			bad = err.Error()
		}
		if ev.EventType == "kv.retry" {
			return aviary.Retry("asked to retry")
		}
		return aviary.Respond(map[string]any{
			"visits": visits, "last": last, "tmp": tmp, "keys": keys, "bad": bad,
		})
	})
}

func main() {}
