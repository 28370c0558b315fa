package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/p2sgw/p2sgw/clientconfig"
	"github.com/p2sgw/p2sgw/internal/atomicfile"
	"github.com/p2sgw/p2sgw/pki"
)

// runVPNClientGenerate writes the VPN client configuration package: the settings come from
// the running gateway (so the package matches its live configuration), a user's identity
// from local files (the private key never goes to the gateway).
func runVPNClientGenerate(ctx context.Context, env *cmdEnv, args []string) error {
	flags := newFlagSet(env, "vpn-client generate", "")
	var cf clientFlags
	cf.register(flags, env)
	out := flags.String("out", "VpnClientConfiguration.zip", "the zip to write")
	auth := flags.String("auth", "", "certificate, eap-tls or eap-mschapv2 (default: certificate, or eap-mschapv2 on a RADIUS-only gateway)")
	clientPath := flags.String("client", "", "a user's certificate to embed: the directory `p2sgw pki issue-client` wrote, or a .p12 file")
	password := flags.String("password", "", "the .p12's password (issue-client's --p12-password); embedded for the profiles that import it")
	if _, err := parseFlags(flags, args); err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	s, err := c.VPNClientSettings(ctx, *auth)
	if err != nil {
		return err
	}
	var client *clientconfig.Client
	if *clientPath != "" {
		if client, err = loadClient(*clientPath, *password); err != nil {
			return fmt.Errorf("--client %s: %w", *clientPath, err)
		}
	}
	zip, err := s.Package(client)
	if err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if client != nil {
		mode = 0o600 // it holds the user's private key
	}
	if err := atomicfile.Write(*out, zip, mode); err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, map[string]any{"file": *out, "settings": s})
	}
	fmt.Fprintf(env.stdout, "Wrote %s: the VPN client configuration for %s (%s; auth %s", *out, s.Server, strings.Join(s.TunnelTypes, ", "), s.Auth)
	if client != nil {
		fmt.Fprintf(env.stdout, ", with %s's certificate and key — give it to that user only", client.Name)
	}
	fmt.Fprintln(env.stdout, ").")
	fmt.Fprintln(env.stdout, "README.txt inside says which file is for which device.")
	return nil
}

// loadClient reads a user's certificate chain and key: the directory `pki issue-client`
// wrote (client.crt with the chain, client.key, and client.p12 if present), or a .p12 file.
func loadClient(path, password string) (*clientconfig.Client, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	c := &clientconfig.Client{P12Password: password}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		key, leaf, cas, err := pkcs12.DecodeChain(data, password)
		if err != nil {
			return nil, fmt.Errorf("read the PKCS#12 (is --password right?): %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		c.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		c.Chain, c.P12 = append([]*x509.Certificate{leaf}, cas...), data
	} else {
		chainPEM, err := os.ReadFile(filepath.Join(path, "client.crt"))
		if err != nil {
			return nil, err
		}
		for rest := chainPEM; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				cert, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, err
				}
				c.Chain = append(c.Chain, cert)
			}
		}
		if len(c.Chain) == 0 {
			return nil, errors.New("client.crt holds no certificate")
		}
		if c.KeyPEM, err = os.ReadFile(filepath.Join(path, "client.key")); err != nil {
			return nil, err
		}
		key, err := pki.ParsePrivateKey(c.KeyPEM)
		if err != nil {
			return nil, err
		}
		if !pki.KeyMatches(c.Chain[0], key) {
			return nil, errors.New("client.key does not belong to client.crt")
		}
		if p12, err := os.ReadFile(filepath.Join(path, "client.p12")); err == nil {
			c.P12 = p12
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	c.Name = clientconfig.CertName(c.Chain[0])
	return c, nil
}
