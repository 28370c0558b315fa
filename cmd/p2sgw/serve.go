package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/gateway"
	"github.com/p2sgw/p2sgw/internal/logcat"
	"github.com/p2sgw/p2sgw/internal/ratelog"
)

// gcPercent is the garbage collector's setting for p2sgw serve unless GOGC is set: a gateway's
// heap is mostly the state of its sessions, held for hours, and Go's default (100) lets the heap
// grow to twice that before collecting. At 50 the gateway holds 100,000 sessions in 1.8 GiB
// instead of 2.3 GiB (bench/RESULTS.md), for more frequent collections while clients connect.
const gcPercent = 50

// setGCPercent sets the collector to gcPercent, unless the environment sets GOGC.
func setGCPercent(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "serve", "")
	path := fs.String("config", config.DefaultPath, "the gateway configuration file")
	logFormat := fs.String("log-format", "", "text or json (default: the config's log.format)")
	adminOnly := fs.Bool("admin-only", false, "serve the admin API only: no tunnel listener, no TUN device (to prepare roots and revocations before clients may connect)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fmt.Errorf("%w\n(fix %s and start again)", err, *path)
	}
	if *logFormat != "" {
		if *logFormat != "text" && *logFormat != "json" {
			return usagef("--log-format must be text or json")
		}
		cfg.Log.Format = *logFormat
	}
	levels := new(logcat.Levels)
	levels.Set(cfg.Log.Levels())
	log := newLogger(env.stderr, cfg.Log.Format, levels)
	setGCPercent(env.getenv)

	g, err := gateway.New(ctx, cfg, gateway.Options{ConfigPath: *path, Log: log, LogLevels: levels, Version: version(), AdminOnly: *adminOnly})
	if err != nil {
		return err
	}
	defer g.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	glog := log.With(logcat.Key, logcat.Gateway)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				glog.Info("SIGHUP: reloading configuration", "config", *path)
				g.Reload(ctx) // logs its own outcome
			}
		}
	}()
	return g.Serve(ctx, func() { sdNotify("READY=1") })
}

// Each kind of log line (its message) may be written logRate times a second after a burst of
// logBurst; what a flood of refused handshakes would write beyond that is counted instead.
const (
	logRate  = 20
	logBurst = 200
)

// newLogger returns the gateway's logger: lines pass the level of their category (levels),
// then the rate limit, then are written in format (text or json) to w. The category filter
// comes first so that lines it drops do not use up the rate limit; the writer is built at
// debug so that the levels alone decide.
func newLogger(w io.Writer, format string, levels *logcat.Levels) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logcat.New(ratelog.New(h, logRate, logBurst, nil), levels))
}

// sdNotify tells systemd (Type=notify) about the service's state; without NOTIFY_SOCKET it
// does nothing.
func sdNotify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}

// version is the module version of the binary, or its VCS revision for a development build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}
