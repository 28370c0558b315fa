package main

import (
	"bytes"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/internal/logcat"
)

// TestNewLogger: the category levels decide before the rate limit, so lines a category
// drops do not use up the limit; what passes is still limited and written in the format.
func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	levels := logcat.NewLevels(slog.LevelInfo)
	levels.Set(slog.LevelInfo, map[string]slog.Level{logcat.IKEv2: slog.LevelDebug})
	log := newLogger(&buf, "json", levels)
	sstp, ike := log.With(logcat.Key, logcat.SSTP), log.With(logcat.Key, logcat.IKEv2)

	for range 2 * logBurst {
		sstp.Debug("PPP frame")
	}
	ike.Debug("IKE_SA_INIT received")
	if out := buf.String(); strings.Contains(out, "PPP frame") || !strings.Contains(out, `"msg":"IKE_SA_INIT received","category":"ikev2"`) {
		t.Fatalf("with sstp at info and ikev2 at debug:\n%s", out)
	}

	buf.Reset()
	levels.Set(slog.LevelInfo, map[string]slog.Level{logcat.SSTP: slog.LevelDebug})
	for range 5 {
		sstp.Debug("PPP frame")
	}
	if n := strings.Count(buf.String(), "PPP frame"); n != 5 {
		t.Fatalf("%d of 5 lines written after sstp went to debug: the dropped ones used up the rate limit:\n%s", n, &buf)
	}

	buf.Reset()
	for range 2 * logBurst {
		sstp.Info("SSTP call refused")
	}
	if n := strings.Count(buf.String(), `"msg":"SSTP call refused"`); n >= 2*logBurst || n < logBurst {
		t.Errorf("%d of %d lines written with a burst of %d", n, 2*logBurst, logBurst)
	}
}

// TestGCPercent: serve runs the collector at gcPercent, unless the operator set GOGC.
func TestGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	setGCPercent(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", got, gcPercent)
	}
	setGCPercent(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100: GC percent %d, want it left at 100", got)
	}
}
