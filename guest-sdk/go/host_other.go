//go:build !wasip1

// Outside wasip1 (go test on the host) the host imports are replaced by an in-process shim:
// log lines are collected (TestLogs) and config values come from SetTestConfig.

package aviary

import (
	"fmt"
	"sync"
)

// LogLine is one line a handler logged, as collected by the test shim.
type LogLine struct {
	Level   Level
	Message string
}

var (
	testMu     sync.Mutex
	testLogs   []LogLine
	testConfig = map[string]string{}
)

func hostLog(level Level, message string) {
	testMu.Lock()
	defer testMu.Unlock()
	testLogs = append(testLogs, LogLine{level, message})
}

// ConfigGet reads key from the handler's [handler.config]; use package config.
func ConfigGet(key string) (string, bool) {
	testMu.Lock()
	defer testMu.Unlock()
	v, ok := testConfig[key]
	return v, ok
}

// SetTestConfig replaces the configuration the shim answers config.Get with (tests only).
func SetTestConfig(values map[string]string) {
	testMu.Lock()
	defer testMu.Unlock()
	testConfig = map[string]string{}
	for k, v := range values {
		testConfig[k] = v
	}
}

// TestLogs returns and clears the lines logged so far (tests only).
func TestLogs() []LogLine {
	testMu.Lock()
	defer testMu.Unlock()
	out := testLogs
	testLogs = nil
	return out
}

// Invoke runs the registered handler on ev the way the runtime does, panics included (tests
// only): a panic is logged at error level and then re-raised.
func Invoke(ev Event) Outcome { return call(ev) }

type abortPanic struct{}

func (abortPanic) Error() string { return "aviary: the handler panicked (the instance is aborted)" }

func abort() { panic(fmt.Errorf("%w", abortPanic{})) }
