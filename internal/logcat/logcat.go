// Package logcat gives each category of log lines its own level: p2sgw's diagnostic log
// categories, the counterpart of an Azure VPN gateway's (IKEDiagnosticLog, P2SDiagnosticLog,
// …). Every logger in the gateway is derived with logger.With(logcat.Key, name); the handler
// New returns notices that attribute and answers Enabled from that category's level, which
// Levels.Set changes live (a reload can turn on IKEv2 debugging without a restart).
//
// It decides only whether a line is written, not how: formatting and rate limiting are the
// inner handler's business. It is not a registry of loggers either: the category is an
// ordinary attribute, written out with the line like any other.
package logcat

import (
	"context"
	"log/slog"
	"slices"
)

// Key is the attribute key that names a logger's category.
const Key = "category"

// The categories. Their values are what a logger's Key attribute holds and what
// gateway.yaml's log.categories is keyed by.
const (
	// P2S is connection events: a client connected, disconnected or was refused (Azure's
	// P2SDiagnosticLog).
	P2S = "p2s"
	// IKEv2 is IKE exchanges (Azure's IKEDiagnosticLog).
	IKEv2 = "ikev2"
	// SSTP is SSTP and the PPP it carries.
	SSTP = "sstp"
	// RADIUS is the RADIUS client: authentication and accounting.
	RADIUS = "radius"
	// Dataplane is the TUN device and packet forwarding.
	Dataplane = "dataplane"
	// Admin is the admin API.
	Admin = "admin"
	// Gateway is everything else: start-up, reload, shutdown.
	Gateway = "gateway"
)

// categories is the fixed list, in the order the documentation gives them.
var categories = [...]string{P2S, IKEv2, SSTP, RADIUS, Dataplane, Admin, Gateway}

// Categories returns the category names, in the documentation's order. The slice is the
// caller's.
func Categories() []string { return slices.Clone(categories[:]) }

// IsCategory reports whether name is one of Categories (case matters: names are lower case).
func IsCategory(name string) bool { return index(name) >= 0 }

func index(name string) int { return slices.Index(categories[:], name) }

// handler is the slog.Handler of New.
type handler struct {
	inner  slog.Handler
	levels *Levels
	level  *slog.LevelVar // the bound category's level, or levels' default when unbound
}

var _ slog.Handler = (*handler)(nil)

// New returns a handler that passes lines to inner when the level of their logger's
// category allows them. A handler derived with WithAttrs holding Key with a string value is
// bound to that category (an unknown name, like no category at all, follows the default
// level); a later Key rebinds it, and WithGroup keeps the binding. The levels are read on
// every Enabled, so a Levels.Set reaches loggers already derived.
//
// Build inner at slog.LevelDebug (or lower): New's handler alone should decide, and inner
// still filters by its own level after it. A nil levels means every level is Info. The
// handler is safe for concurrent use if inner is.
func New(inner slog.Handler, levels *Levels) slog.Handler {
	if levels == nil {
		levels = new(Levels)
	}
	return &handler{inner: inner, levels: levels, level: &levels.def}
}

// Enabled implements slog.Handler: l is enabled at or above the bound category's level.
// It allocates nothing.
func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler by passing r to inner.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

// WithAttrs implements slog.Handler; attrs go on to inner whether or not they name a
// category.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	level := h.level
	for _, a := range attrs {
		if a.Key != Key {
			continue
		}
		if v := a.Value.Resolve(); v.Kind() == slog.KindString {
			level = h.levels.of(v.String())
		}
	}
	return &handler{inner: h.inner.WithAttrs(attrs), levels: h.levels, level: level}
}

// WithGroup implements slog.Handler; the binding is kept.
func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), levels: h.levels, level: h.level}
}
