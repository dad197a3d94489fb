// A Go test guest for tests/tests/go_guest.rs: well-behaved or hostile depending on the event
// type, so that one build serves every case.
//
//	loop    spins forever                         → timeout (or out of fuel)
//	bomb    allocates and touches 1 MiB blocks    → memory limit
//	panic   panics                                → panic, with the message
//	sleep   time.Sleep(60 s), a blocking host call → timeout
//	count   answers how many events this instance has served (reuse)
//	else    answers {"greeting": config greeting, "event_id", "envelope_bytes"}, logs a line
package main

import (
	"strconv"
	"time"

	"aviary.local/aviary"
	"aviary.local/aviary/config"
)

var served int

var sink [][]byte

func init() {
	aviary.Handle(func(ev aviary.Event) aviary.Outcome {
		served++
		switch ev.EventType {
		case "loop":
			for i := 0; ; i++ {
				if i < 0 {
					return aviary.Done()
				}
			}
		case "bomb":
			for {
				b := make([]byte, 1<<20)
				for i := range b {
					b[i] = 0xAB
				}
				sink = append(sink, b)
			}
		case "panic":
			panic("go handler exploded on " + ev.EventID)
		case "sleep":
			time.Sleep(60 * time.Second)
			return aviary.Done()
		case "count":
			return aviary.RespondJSON(strconv.Itoa(served))
		}
		aviary.Infof("handling %s", ev.EventID)
		return aviary.Respond(map[string]any{
			"greeting":       config.GetOr("greeting", "none"),
			"event_id":       ev.EventID,
			"envelope_bytes": len(ev.Envelope),
			"attempt":        ev.Attempt,
			"callback":       ev.IsCallback(),
		})
	})
}

func main() {}
