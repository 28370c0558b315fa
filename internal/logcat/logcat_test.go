package logcat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// newTestLogger returns a logger through New over a text handler at debug, and its output.
func newTestLogger(levels *Levels) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	inner := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(New(inner, levels)), &buf
}

// TestCategoryLevels: with ikev2 at debug and the default at info, each way of deriving a
// logger follows the level of the category it ends up bound to.
func TestCategoryLevels(t *testing.T) {
	tests := []struct {
		name   string
		derive func(*slog.Logger) *slog.Logger
		level  slog.Level
		want   bool
	}{
		{"ikev2 debug", func(l *slog.Logger) *slog.Logger { return l.With(Key, IKEv2) }, slog.LevelDebug, true},
		{"sstp debug", func(l *slog.Logger) *slog.Logger { return l.With(Key, SSTP) }, slog.LevelDebug, false},
		{"sstp info", func(l *slog.Logger) *slog.Logger { return l.With(Key, SSTP) }, slog.LevelInfo, true},
		{"no category debug", func(l *slog.Logger) *slog.Logger { return l }, slog.LevelDebug, false},
		{"no category info", func(l *slog.Logger) *slog.Logger { return l }, slog.LevelInfo, true},
		{"with without category debug", func(l *slog.Logger) *slog.Logger { return l.With("remote", "203.0.113.9:500") }, slog.LevelDebug, false},
		{"unknown category debug", func(l *slog.Logger) *slog.Logger { return l.With(Key, "l2tp") }, slog.LevelDebug, false},
		{"category not a string", func(l *slog.Logger) *slog.Logger { return l.With(Key, 2) }, slog.LevelDebug, false},
		{"nested with keeps binding", func(l *slog.Logger) *slog.Logger {
			return l.With(Key, IKEv2).With("remote", "203.0.113.9:500").With("spi", "0x1")
		}, slog.LevelDebug, true},
		{"group keeps binding", func(l *slog.Logger) *slog.Logger { return l.With(Key, IKEv2).WithGroup("sa").With("spi", "0x1") }, slog.LevelDebug, true},
		{"category in a group binds", func(l *slog.Logger) *slog.Logger { return l.WithGroup("g").With(Key, IKEv2) }, slog.LevelDebug, true},
		{"later category rebinds", func(l *slog.Logger) *slog.Logger { return l.With(Key, IKEv2).With(Key, SSTP) }, slog.LevelDebug, false},
		{"last of one With wins", func(l *slog.Logger) *slog.Logger { return l.With(Key, SSTP, Key, IKEv2) }, slog.LevelDebug, true},
		{"slog.Attr", func(l *slog.Logger) *slog.Logger { return l.With(slog.String(Key, IKEv2)) }, slog.LevelDebug, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			levels := NewLevels(slog.LevelInfo)
			levels.Set(slog.LevelInfo, map[string]slog.Level{IKEv2: slog.LevelDebug})
			log, buf := newTestLogger(levels)
			tt.derive(log).Log(context.Background(), tt.level, "the line")
			if got := strings.Contains(buf.String(), "the line"); got != tt.want {
				t.Errorf("written = %v, want %v:\n%s", got, tt.want, buf)
			}
		})
	}
}

// TestAttrsReachInner: the category and the other attributes are written with the line.
func TestAttrsReachInner(t *testing.T) {
	log, buf := newTestLogger(NewLevels(slog.LevelDebug))
	log.With(Key, IKEv2).WithGroup("sa").With("spi", "0x1").Debug("IKE_SA_INIT received", "n", 1)
	want := `level=DEBUG msg="IKE_SA_INIT received" category=ikev2 sa.spi=0x1 sa.n=1`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("got %s, want it to contain %s", buf, want)
	}
}

// TestSetReachesDerivedLoggers: loggers derived before Set follow it at once, in both
// directions, and a category left out of Set follows the new default.
func TestSetReachesDerivedLoggers(t *testing.T) {
	levels := NewLevels(slog.LevelInfo)
	log, buf := newTestLogger(levels)
	ike, sstp, plain := log.With(Key, IKEv2), log.With(Key, SSTP), log.With("x", 1)
	logAll := func() string {
		buf.Reset()
		ike.Debug("ike")
		sstp.Debug("sstp")
		plain.Debug("plain")
		ike.Warn("ike-warn")
		return buf.String()
	}
	steps := []struct {
		name string
		def  slog.Level
		per  map[string]slog.Level
		want []string
	}{
		{"ikev2 debug", slog.LevelInfo, map[string]slog.Level{IKEv2: slog.LevelDebug}, []string{"ike", "ike-warn"}},
		{"default debug", slog.LevelDebug, nil, []string{"ike", "sstp", "plain", "ike-warn"}},
		{"ikev2 error", slog.LevelDebug, map[string]slog.Level{IKEv2: slog.LevelError}, []string{"sstp", "plain"}},
		{"back to info", slog.LevelInfo, nil, []string{"ike-warn"}},
	}
	for _, s := range steps {
		levels.Set(s.def, s.per)
		out := logAll()
		var got []string
		for _, msg := range []string{"ike", "sstp", "plain", "ike-warn"} {
			if strings.Contains(out, "msg="+msg+"\n") || strings.Contains(out, "msg="+msg+" ") {
				got = append(got, msg)
			}
		}
		if strings.Join(got, " ") != strings.Join(s.want, " ") {
			t.Errorf("%s: written %v, want %v:\n%s", s.name, got, s.want, out)
		}
	}
}

func TestLevels(t *testing.T) {
	var zero Levels
	for _, c := range append(Categories(), "", "l2tp") {
		if got := zero.Level(c); got != slog.LevelInfo {
			t.Errorf("zero Levels: Level(%q) = %v, want INFO", c, got)
		}
	}
	l := NewLevels(slog.LevelWarn)
	l.Set(slog.LevelError, map[string]slog.Level{RADIUS: slog.LevelDebug, "l2tp": slog.LevelDebug})
	for _, tt := range []struct {
		category string
		want     slog.Level
	}{
		{RADIUS, slog.LevelDebug},
		{P2S, slog.LevelError},
		{Gateway, slog.LevelError},
		{"l2tp", slog.LevelError},
		{"", slog.LevelError},
		{"RADIUS", slog.LevelError}, // names are lower case
	} {
		if got := l.Level(tt.category); got != tt.want {
			t.Errorf("Level(%q) = %v, want %v", tt.category, got, tt.want)
		}
	}
	if l.Default() != slog.LevelError {
		t.Errorf("Default = %v", l.Default())
	}
}

func TestNilLevels(t *testing.T) {
	log, buf := newTestLogger(nil)
	log.With(Key, IKEv2).Debug("dropped")
	log.Info("kept")
	if out := buf.String(); strings.Contains(out, "dropped") || !strings.Contains(out, "kept") {
		t.Errorf("nil levels should be info:\n%s", out)
	}
}

func TestCategories(t *testing.T) {
	want := "p2s ikev2 sstp radius dataplane admin gateway"
	got := Categories()
	if strings.Join(got, " ") != want {
		t.Fatalf("Categories = %v, want %s", got, want)
	}
	got[0] = "changed"
	if Categories()[0] != P2S {
		t.Error("Categories shares its slice with the caller")
	}
	for _, c := range []struct {
		name string
		want bool
	}{{"ikev2", true}, {"gateway", true}, {"IKEv2", false}, {"", false}, {"l2tp", false}} {
		if IsCategory(c.name) != c.want {
			t.Errorf("IsCategory(%q) = %v", c.name, !c.want)
		}
	}
}

// TestJSONHandler: the binding works over the JSON handler, and the category is a field of
// the line.
func TestJSONHandler(t *testing.T) {
	var buf bytes.Buffer
	levels := NewLevels(slog.LevelInfo)
	levels.Set(slog.LevelInfo, map[string]slog.Level{P2S: slog.LevelDebug})
	log := slog.New(New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), levels))
	log.With(Key, P2S).Debug("client connected", "user", "alice")
	log.With(Key, SSTP).Debug("SSTP call connected")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), &buf)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got["msg"] != "client connected" || got[Key] != P2S || got["level"] != "DEBUG" || got["user"] != "alice" {
		t.Errorf("line = %v", got)
	}
}

func TestParseLevel(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"debug", slog.LevelDebug, true},
		{"INFO", slog.LevelInfo, true},
		{"Warn", slog.LevelWarn, true},
		{"error", slog.LevelError, true},
		{"warning", 0, false},
		{"info+2", 0, false},
		{"", 0, false},
		{" info", 0, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUnknownLevel) {
				t.Errorf("ParseLevel(%q) = %v, %v; want ErrUnknownLevel", tt.in, got, err)
			}
		})
	}
	if got := strings.Join(LevelNames(), " "); got != "debug info warn error" {
		t.Errorf("LevelNames = %s", got)
	}
	_, err := ParseLevel("verbose")
	if want := `logcat: unknown level "verbose" (want debug, info, warn or error)`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestConcurrentSetAndLog: Set while loggers derive and log (run with -race).
func TestConcurrentSetAndLog(t *testing.T) {
	levels := NewLevels(slog.LevelInfo)
	log := slog.New(New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), levels))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, c := range Categories() {
		wg.Go(func() {
			l := log.With(Key, c)
			for {
				select {
				case <-stop:
					return
				default:
				}
				l.Debug("debug line")
				l.With("n", 1).Info("info line")
			}
		})
	}
	for i := range 1000 {
		lv := slog.LevelInfo
		if i%2 == 0 {
			lv = slog.LevelDebug
		}
		levels.Set(slog.LevelWarn, map[string]slog.Level{IKEv2: lv, SSTP: -lv})
		_ = levels.Level(IKEv2)
	}
	close(stop)
	wg.Wait()
}

// TestEnabledAllocs: asking whether a category's line is enabled, the question every
// dropped debug line costs, allocates nothing.
func TestEnabledAllocs(t *testing.T) {
	log := slog.New(New(slog.DiscardHandler, NewLevels(slog.LevelInfo))).With(Key, IKEv2)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = log.Enabled(ctx, slog.LevelDebug) }); n != 0 {
		t.Errorf("Enabled allocates %v times", n)
	}
}
