// Package ratelog bounds how fast one kind of log line can be written: a slog.Handler that
// lets each message through at a steady rate with a burst, and counts what it holds back. An
// internet-facing gateway logs every refused handshake with its reason; a flood of them
// (spoofed IKE_SA_INIT packets, TLS connections that go nowhere) must not fill the disk or
// drown the lines that matter. Errors always pass.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Handler is a rate-limiting slog.Handler around another one. Lines are limited per message
// (the msg of the record, which in p2sgw names the kind of event); when a message is let
// through again after lines were held back, a "log lines suppressed" line says how many.
type Handler struct {
	next  slog.Handler
	state *state
}

type state struct {
	rate  float64 // lines per second per message
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens     float64
	last       time.Time
	suppressed int
}

// New returns a handler that passes at most rate lines a second of each message to next,
// after a burst of burst lines; now is the clock (nil: time.Now).
func New(next slog.Handler, rate, burst float64, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	return &Handler{next: next, state: &state{rate: rate, burst: burst, now: now, buckets: make(map[string]*bucket)}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		return h.next.Handle(ctx, r)
	}
	s := h.state
	s.mu.Lock()
	b := s.buckets[r.Message]
	now := s.now()
	if b == nil {
		b = &bucket{tokens: s.burst, last: now}
		s.buckets[r.Message] = b
	}
	b.tokens = min(s.burst, b.tokens+now.Sub(b.last).Seconds()*s.rate)
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		s.mu.Unlock()
		return nil
	}
	b.tokens--
	held := b.suppressed
	b.suppressed = 0
	s.mu.Unlock()
	if held > 0 {
		note := slog.NewRecord(r.Time, slog.LevelWarn, "log lines suppressed", r.PC)
		note.AddAttrs(slog.String("message", r.Message), slog.Int("suppressed", held))
		if err := h.next.Handle(ctx, note); err != nil {
			return err
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler; the limits are shared.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup implements slog.Handler; the limits are shared.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}
