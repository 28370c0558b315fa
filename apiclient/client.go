// Package apiclient is the typed client of the gateway's admin API (package api). The CLI
// talks to the gateway only through it: over the unix socket by default, or over TCP with
// mutual TLS.
package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/p2sgw/p2sgw/api"
)

// Client calls the admin API. It is safe for concurrent use.
type Client struct {
	base  string // "http://p2sgw" for a socket, "https://host:port" for TCP
	where string // for error messages
	http  *http.Client
}

// New returns a client for the API on the unix socket at path.
func New(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
	}
	return &Client{base: "http://p2sgw", where: socketPath, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// NewTLS returns a client for the API at https://addr with the given TLS configuration
// (client certificate and the CA that signed the gateway's admin certificate).
func NewTLS(addr string, cfg *tls.Config) *Client {
	tr := &http.Transport{TLSClientConfig: cfg}
	return &Client{base: "https://" + addr, where: addr, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// Status returns the gateway's status.
func (c *Client) Status(ctx context.Context) (api.Status, error) {
	var s api.Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Reload asks the gateway to re-read its configuration.
func (c *Client) Reload(ctx context.Context) (api.ReloadResult, error) {
	var v api.ReloadResult
	return v, c.do(ctx, http.MethodPost, "/v1/reload", struct{}{}, &v)
}

// RootCerts lists the trusted roots.
func (c *Client) RootCerts(ctx context.Context) ([]api.RootCert, error) {
	var v []api.RootCert
	return v, c.do(ctx, http.MethodGet, "/v1/root-certs", nil, &v)
}

// AddRootCert uploads a trusted root.
func (c *Client) AddRootCert(ctx context.Context, req api.AddRootCertRequest) (api.RootCert, error) {
	var v api.RootCert
	return v, c.do(ctx, http.MethodPost, "/v1/root-certs", req, &v)
}

// RemoveRootCert removes a trusted root by name.
func (c *Client) RemoveRootCert(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/root-certs/"+url.PathEscape(name), nil, nil)
}

// RevokedCerts lists the revoked thumbprints.
func (c *Client) RevokedCerts(ctx context.Context) ([]api.RevokedCert, error) {
	var v []api.RevokedCert
	return v, c.do(ctx, http.MethodGet, "/v1/revoked-certs", nil, &v)
}

// AddRevokedCert revokes a thumbprint.
func (c *Client) AddRevokedCert(ctx context.Context, req api.AddRevokedCertRequest) (api.RevokedCert, error) {
	var v api.RevokedCert
	return v, c.do(ctx, http.MethodPost, "/v1/revoked-certs", req, &v)
}

// RemoveRevokedCert reinstates a revoked certificate by entry name.
func (c *Client) RemoveRevokedCert(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/revoked-certs/"+url.PathEscape(name), nil, nil)
}

// Connections lists the connected clients.
func (c *Client) Connections(ctx context.Context) ([]api.Connection, error) {
	var v []api.Connection
	return v, c.do(ctx, http.MethodGet, "/v1/connections", nil, &v)
}

// Disconnect ends the named connections and returns the ids it ended.
func (c *Client) Disconnect(ctx context.Context, ids []string) ([]string, error) {
	var v api.DisconnectResponse
	err := c.do(ctx, http.MethodPost, "/v1/connections/disconnect", api.DisconnectRequest{IDs: ids}, &v)
	return v.Disconnected, err
}

// do sends a request with body (JSON, unless nil) and decodes a 2xx reply into out (unless
// nil). A 4xx or 5xx reply becomes an *api.Error.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read reply from %s: %w", c.where, err)
	}
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Message == "" {
			return &api.Error{Status: resp.StatusCode, Code: api.CodeInternal, Message: fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(data)))}
		}
		eb.Error.Status = resp.StatusCode
		return &eb.Error
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode reply from %s: %w", c.where, err)
	}
	return nil
}

func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("cannot reach the gateway: %s does not exist (is p2sgw serve running? is --socket right?)", c.where)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach the gateway at %s: connection refused (is p2sgw serve running?)", c.where)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot reach the gateway: permission denied on %s (the admin socket is for root; use sudo)", c.where)
	}
	return fmt.Errorf("cannot reach the gateway at %s: %w", c.where, err)
}

// VPNClientSettings returns what the VPN client configuration package describes, for auth
// ("" for the gateway's default).
func (c *Client) VPNClientSettings(ctx context.Context, auth string) (api.VPNClientSettings, error) {
	var v api.VPNClientSettings
	err := c.do(ctx, http.MethodGet, "/v1/vpn-client/settings?auth="+url.QueryEscape(auth), nil, &v)
	return v, err
}
