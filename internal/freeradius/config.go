package freeradius

import (
	"embed"
	"encoding/pem"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/p2sgw/p2sgw/pki"
)

// debianDir is Debian's FreeRADIUS configuration, the source of what the harness does not
// write itself.
const debianDir = "/etc/freeradius/3.0"

// The configuration directory holds:
//
//	radiusd.conf, clients.conf           from raddb/ (templates)
//	dictionary, mods-config/, policy.d/  copied from debianDir
//	mods-enabled/                        debianModules copied from debianDir/mods-available,
//	                                     eap and detail from raddb/
//	sites-enabled/default, inner-tunnel  from raddb/
//	mods-config/files/authorize          the users file, from raddb/users
//	certs/                               ca.pem, server.pem, server.key
//	accounting.detail                    written by the detail module (detailFile)
//	log/, run/                           FreeRADIUS's own
var (
	debianCopies  = []string{"dictionary", "mods-config", "policy.d"}
	debianModules = []string{"always", "attr_filter", "chap", "expr", "files", "mschap", "pap", "preprocess"}
)

// detailFile is the one file, in the configuration directory, that gets every
// Accounting-Request.
const detailFile = "accounting.detail"

//go:embed raddb
var raddb embed.FS

// generated maps the templates in raddb/ to where they go in the configuration directory.
var generated = map[string]string{
	"radiusd.conf": "radiusd.conf",
	"clients.conf": "clients.conf",
	"users":        "mods-config/files/authorize",
	"default":      "sites-enabled/default",
	"inner-tunnel": "sites-enabled/inner-tunnel",
	"eap":          "mods-enabled/eap",
	"detail":       "mods-enabled/detail",
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"quote":      quote,
	"replyItems": replyItems,
	"join":       strings.Join,
}).ParseFS(raddb, "raddb/*"))

// configData is what the templates see.
type configData struct {
	Dir                string
	Addr               netip.Addr
	AuthPort, AcctPort int
	Secret             string
	Clients            []netip.Prefix
	Users              []User
	DetailFile         string
}

// writeConfig fills s.dir with the server's configuration.
func (s *Server) writeConfig(users []User, clients []netip.Prefix) error {
	for _, name := range debianCopies {
		if err := copyTree(filepath.Join(debianDir, name), filepath.Join(s.dir, name)); err != nil {
			return err
		}
	}
	for _, d := range []string{"mods-enabled", "sites-enabled", "certs", "log", "run"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return err
		}
	}
	for _, m := range debianModules {
		if err := copyTree(filepath.Join(debianDir, "mods-available", m), filepath.Join(s.dir, "mods-enabled", m)); err != nil {
			return err
		}
	}
	data := configData{
		Dir: s.dir, Addr: s.addr, AuthPort: s.auth, AcctPort: s.acct, Secret: s.secret,
		Clients: clients, Users: users, DetailFile: filepath.Join(s.dir, detailFile),
	}
	for tmpl, dst := range generated {
		if err := render(tmpl, filepath.Join(s.dir, dst), data); err != nil {
			return err
		}
	}
	return s.writeCerts()
}

func render(tmpl, dst string, data configData) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("freeradius: %w", err)
	}
	if err := templates.ExecuteTemplate(f, tmpl, data); err != nil {
		f.Close()
		return fmt.Errorf("freeradius: render %s: %w", tmpl, err)
	}
	return f.Close()
}

// writeCerts writes the CA and a fresh server certificate for the server name and the listen
// address.
func (s *Server) writeCerts() error {
	srv, err := s.ca.IssueServer([]string{s.name}, []netip.Addr{s.addr}, pki.Options{})
	if err != nil {
		return fmt.Errorf("freeradius: issue server certificate: %w", err)
	}
	key, err := srv.KeyPEM()
	if err != nil {
		return fmt.Errorf("freeradius: %w", err)
	}
	certs := filepath.Join(s.dir, "certs")
	for name, data := range map[string][]byte{
		"ca.pem":     s.CAPEM(),
		"server.pem": srv.ChainPEM(),
		"server.key": key,
	} {
		if err := os.WriteFile(filepath.Join(certs, name), data, 0o600); err != nil {
			return fmt.Errorf("freeradius: %w", err)
		}
	}
	return nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// copyTree copies the file or directory src to dst, following symbolic links (Debian's
// mods-enabled are links into mods-available), with private permissions: FreeRADIUS
// refuses a world-writable configuration, and its files hold secrets.
func copyTree(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("freeradius: %w (is the freeradius package installed?)", err)
	}
	if !fi.IsDir() {
		return copyFile(src, dst)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// replyItems renders the reply attributes of u, in users-file syntax.
func replyItems(u User) []string {
	var items []string
	if u.FramedIP.IsValid() {
		items = append(items, "Framed-IP-Address = "+u.FramedIP.String())
	}
	if u.SessionTimeout > 0 {
		items = append(items, "Session-Timeout = "+strconv.Itoa(int(u.SessionTimeout/time.Second)))
	}
	if u.Class != "" {
		items = append(items, "Class = "+quote(u.Class))
	}
	if u.ReplyMessage != "" {
		items = append(items, "Reply-Message = "+quote(u.ReplyMessage))
	}
	return items
}

// quote makes s a double-quoted FreeRADIUS string. checkText keeps out what quoting
// cannot carry.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// checkUsers rejects users the users file cannot express.
func checkUsers(users []User) error {
	for i, u := range users {
		if u.Name == "" {
			return fmt.Errorf("freeradius: user %d has no name", i)
		}
		for what, v := range map[string]string{"name": u.Name, "password": u.Password, "class": u.Class, "reply message": u.ReplyMessage} {
			if err := checkText(fmt.Sprintf("user %q: %s", u.Name, what), v); err != nil {
				return err
			}
		}
		if u.SessionTimeout != 0 && u.SessionTimeout < time.Second {
			return fmt.Errorf("freeradius: user %q: session timeout %v is under a second", u.Name, u.SessionTimeout)
		}
		if u.FramedIP.IsValid() && !u.FramedIP.Is4() {
			return fmt.Errorf("freeradius: user %q: Framed-IP-Address %v is not IPv4", u.Name, u.FramedIP)
		}
	}
	return nil
}

// checkText rejects control characters, which would end or break a line of the
// configuration, and the characters that start FreeRADIUS expansions (% and $).
func checkText(what, v string) error {
	for _, r := range v {
		if unicode.IsControl(r) || r == '%' || r == '$' {
			return fmt.Errorf("freeradius: %s %q contains %q, which the configuration cannot carry", what, v, r)
		}
	}
	return nil
}
