package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/internal/atomicfile"
)

//go:embed packaging/p2sgw.service
var serviceUnit string

// runInstallService writes the systemd unit that runs `p2sgw serve` (Type=notify, reload by
// SIGHUP) and says how to start it; it starts nothing itself.
func runInstallService(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "install-service", "")
	dir := fs.String("unit-dir", "/etc/systemd/system", "where to write p2sgw.service")
	bin := fs.String("binary", "", "the p2sgw binary the unit runs (default: this one)")
	cfgPath := fs.String("config", config.DefaultPath, "the configuration file the unit passes to serve")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		*bin = exe
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	if strings.ContainsAny(abs+*cfgPath, " \t\n\"'\\") {
		return usagef("--binary and --config must be paths without spaces or quotes (got %q, %q)", abs, *cfgPath)
	}
	unit := strings.NewReplacer("@BINARY@", abs, "@CONFIG@", *cfgPath).Replace(serviceUnit)
	path := filepath.Join(*dir, "p2sgw.service")
	if err := atomicfile.Write(path, []byte(unit), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Wrote %s (runs %s serve --config %s).\n", path, abs, *cfgPath)
	fmt.Fprintln(env.stdout, "Start it now and at boot:  sudo systemctl daemon-reload && sudo systemctl enable --now p2sgw")
	fmt.Fprintln(env.stdout, "Reload the configuration:  sudo systemctl reload p2sgw   (or p2sgw reload)")
	fmt.Fprintln(env.stdout, "Its log:                   journalctl -u p2sgw -f")
	return nil
}
