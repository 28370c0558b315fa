package apiclient

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/api"
)

type backend struct{ api.Backend } // methods not overridden panic: the test calls only these

func (backend) Status(context.Context) (api.Status, error) {
	return api.Status{Name: "gw", SKU: api.SKU{Name: "VpnGw1"}}, nil
}
func (backend) RootCerts(context.Context) ([]api.RootCert, error) {
	return []api.RootCert{{Name: "r1", Thumbprint: "AB"}}, nil
}
func (backend) RemoveRootCert(_ context.Context, name string) error {
	if name != "a/b c" {
		return api.NotFound("no root certificate named %q", name)
	}
	return nil
}
func (backend) Disconnect(_ context.Context, ids []string) ([]string, error) { return ids, nil }

func serveAPI(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.NewHandler(backend{}, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestClientOverUnixSocket(t *testing.T) {
	c := New(serveAPI(t))
	ctx := context.Background()
	s, err := c.Status(ctx)
	if err != nil || s.Name != "gw" || s.SKU.Name != "VpnGw1" {
		t.Fatalf("Status = %+v, %v", s, err)
	}
	roots, err := c.RootCerts(ctx)
	if err != nil || len(roots) != 1 || roots[0].Thumbprint != "AB" {
		t.Fatalf("RootCerts = %+v, %v", roots, err)
	}
	if err := c.RemoveRootCert(ctx, "a/b c"); err != nil {
		t.Fatalf("RemoveRootCert with a name needing escaping: %v", err)
	}
	err = c.RemoveRootCert(ctx, "missing")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != api.CodeNotFound || !strings.Contains(ae.Message, "missing") {
		t.Fatalf("RemoveRootCert(missing) = %#v, want a 404 *api.Error naming it", err)
	}
	ids, err := c.Disconnect(ctx, []string{"IKEv2_A"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("Disconnect = %v, %v", ids, err)
	}
}

func TestClientSaysWhyItCannotReach(t *testing.T) {
	c := New(filepath.Join(t.TempDir(), "absent.sock"))
	_, err := c.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is p2sgw serve running") {
		t.Fatalf("Status on a missing socket = %v", err)
	}
}
