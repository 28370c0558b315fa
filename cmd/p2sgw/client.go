package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/p2sgw/p2sgw/apiclient"
	"github.com/p2sgw/p2sgw/config"
)

// clientFlags are the flags every admin command takes: where the gateway's admin API is, and
// whether to print JSON.
type clientFlags struct {
	socket   string
	adminURL string
	cert     string
	key      string
	ca       string
	json     bool
}

func (cf *clientFlags) register(fs *flag.FlagSet, env *cmdEnv) {
	def := env.getenv("P2SGW_SOCKET")
	if def == "" {
		def = config.DefaultSocket
	}
	fs.StringVar(&cf.socket, "socket", def, "the gateway's admin socket (env P2SGW_SOCKET)")
	fs.StringVar(&cf.adminURL, "admin-address", env.getenv("P2SGW_ADMIN_ADDRESS"), "host:port of the admin API over TCP with mutual TLS, instead of the socket (env P2SGW_ADMIN_ADDRESS)")
	fs.StringVar(&cf.cert, "admin-cert", env.getenv("P2SGW_ADMIN_CERT"), "client certificate (PEM) for --admin-address")
	fs.StringVar(&cf.key, "admin-key", env.getenv("P2SGW_ADMIN_KEY"), "client key (PEM) for --admin-address")
	fs.StringVar(&cf.ca, "admin-ca", env.getenv("P2SGW_ADMIN_CA"), "CA (PEM) that signed the gateway's admin certificate, for --admin-address")
	fs.BoolVar(&cf.json, "json", false, "print JSON")
}

func (cf *clientFlags) client() (*apiclient.Client, error) {
	if cf.adminURL == "" {
		return apiclient.New(cf.socket), nil
	}
	if cf.cert == "" || cf.key == "" || cf.ca == "" {
		return nil, usagef("--admin-address needs --admin-cert, --admin-key and --admin-ca")
	}
	cert, err := tls.LoadX509KeyPair(cf.cert, cf.key)
	if err != nil {
		return nil, fmt.Errorf("admin client certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cf.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("--admin-ca %s holds no PEM certificate", cf.ca)
	}
	return apiclient.NewTLS(cf.adminURL, &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS12,
	}), nil
}

// adminCommand parses the flags of an admin command that takes no arguments beyond the
// common ones and returns its API client.
func adminCommand(env *cmdEnv, name string, args []string) (*apiclient.Client, *clientFlags, error) {
	fs := newFlagSet(env, name, "")
	cf := new(clientFlags)
	cf.register(fs, env)
	if err := noArgs(fs, args); err != nil {
		return nil, nil, err
	}
	c, err := cf.client()
	return c, cf, err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}
