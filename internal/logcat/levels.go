package logcat

import (
	"fmt"
	"log/slog"
	"strings"
)

// Levels holds a level for each category and a default level, for lines of no category or
// of a name that is not a category. The zero value has every level at Info and is ready to
// use; a Levels must not be copied after first use. Its methods may be called concurrently
// with each other and with logging.
type Levels struct {
	def slog.LevelVar
	cat [len(categories)]slog.LevelVar // indexed as categories
}

// NewLevels returns Levels with the default and every category at def.
func NewLevels(def slog.Level) *Levels {
	l := new(Levels)
	l.Set(def, nil)
	return l
}

// Set sets the default level to def and each category to its level in per, or to def when
// per does not name it; names in per that are not categories are ignored. Loggers already
// derived follow at once. A logger that logs while Set runs may see some categories changed
// and others not yet.
func (l *Levels) Set(def slog.Level, per map[string]slog.Level) {
	l.def.Set(def)
	for i, name := range categories {
		lv, ok := per[name]
		if !ok {
			lv = def
		}
		l.cat[i].Set(lv)
	}
}

// Level returns the level of category, or the default level when category is not one of
// Categories (or is empty).
func (l *Levels) Level(category string) slog.Level { return l.of(category).Level() }

// Default returns the default level.
func (l *Levels) Default() slog.Level { return l.def.Level() }

// of returns the variable that holds category's level.
func (l *Levels) of(category string) *slog.LevelVar {
	if i := index(category); i >= 0 {
		return &l.cat[i]
	}
	return &l.def
}

// levelNames are the names ParseLevel accepts, lowest first.
var levelNames = [...]struct {
	name  string
	level slog.Level
}{
	{"debug", slog.LevelDebug},
	{"info", slog.LevelInfo},
	{"warn", slog.LevelWarn},
	{"error", slog.LevelError},
}

// LevelNames returns the names ParseLevel accepts, lowest level first: debug, info, warn,
// error. The slice is the caller's.
func LevelNames() []string {
	names := make([]string, len(levelNames))
	for i, n := range levelNames {
		names[i] = n.name
	}
	return names
}

// ParseLevel returns the level named s: debug, info, warn or error, in any case. Anything
// else, including slog's offsets such as "info+2", is an error wrapping ErrUnknownLevel.
func ParseLevel(s string) (slog.Level, error) {
	for _, n := range levelNames {
		if strings.EqualFold(s, n.name) {
			return n.level, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want debug, info, warn or error)", ErrUnknownLevel, s)
}
