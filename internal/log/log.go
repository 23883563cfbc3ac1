// Package log is skiff's leveled logger for progress and diagnostics on
// stderr. Results go to stdout through the commands, never through here.
package log

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Level is how much a user wants to read, from errors only to traces.
type Level int

// The levels, as -v/--verbosity spells them.
const (
	LevelError Level = iota
	LevelWarn
	LevelInfo
	LevelDebug
	LevelTrace
)

var levelNames = []string{"error", "warn", "info", "debug", "trace"}

func (l Level) String() string { return levelNames[l] }

// ParseLevel reads a -v value.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), nil
		}
	}
	if strings.EqualFold(s, "warning") {
		return LevelWarn, nil
	}
	return 0, fmt.Errorf("unknown verbosity %q: use one of %s", s, strings.Join(levelNames, ", "))
}

// Logger writes messages at or below its level to one writer; it is safe
// for concurrent use.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	level Level
}

// New returns a Logger writing to w. A nil Logger discards everything.
func New(w io.Writer, level Level) *Logger { return &Logger{w: w, level: level} }

// Enabled reports whether messages at level are written.
func (l *Logger) Enabled(level Level) bool { return l != nil && level <= l.level }

func (l *Logger) logf(level Level, prefix, format string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, prefix+strings.TrimRight(msg, "\n"))
}

// Warnf reports something the user should know but that does not stop the command.
func (l *Logger) Warnf(format string, args ...any) { l.logf(LevelWarn, "WARN: ", format, args...) }

// Infof reports progress.
func (l *Logger) Infof(format string, args ...any) { l.logf(LevelInfo, "", format, args...) }

// Debugf reports detail useful when something goes wrong.
func (l *Logger) Debugf(format string, args ...any) { l.logf(LevelDebug, "DEBUG: ", format, args...) }
