package aviary

import "fmt"

// Level is a log level of the host's log import.
type Level uint8

const (
	LevelTrace Level = 0
	LevelDebug Level = 1
	LevelInfo  Level = 2
	LevelWarn  Level = 3
	LevelError Level = 4
)

func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	}
	return "error"
}

// Log writes one line to the runtime's log; the runtime tags it with the handler, event and
// trace id. The runtime keeps at most 256 lines / 64 KiB per call.
func Log(level Level, message string) { hostLog(level, message) }

// Trace logs at trace level.
func Trace(message string) { hostLog(LevelTrace, message) }

// Debug logs at debug level.
func Debug(message string) { hostLog(LevelDebug, message) }

// Info logs at info level.
func Info(message string) { hostLog(LevelInfo, message) }

// Warn logs at warn level.
func Warn(message string) { hostLog(LevelWarn, message) }

// Error logs at error level.
func Error(message string) { hostLog(LevelError, message) }

// Tracef logs at trace level, fmt.Sprintf-style.
func Tracef(format string, args ...any) { hostLog(LevelTrace, fmt.Sprintf(format, args...)) }

// Debugf logs at debug level, fmt.Sprintf-style.
func Debugf(format string, args ...any) { hostLog(LevelDebug, fmt.Sprintf(format, args...)) }

// Infof logs at info level, fmt.Sprintf-style.
func Infof(format string, args ...any) { hostLog(LevelInfo, fmt.Sprintf(format, args...)) }

// Warnf logs at warn level, fmt.Sprintf-style.
func Warnf(format string, args ...any) { hostLog(LevelWarn, fmt.Sprintf(format, args...)) }

// Errorf logs at error level, fmt.Sprintf-style.
func Errorf(format string, args ...any) { hostLog(LevelError, fmt.Sprintf(format, args...)) }
