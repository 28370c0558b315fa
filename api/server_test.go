package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeBackend records calls and returns canned answers.
type fakeBackend struct {
	added   AddRootCertRequest
	err     error
	removed []string
}

func (f *fakeBackend) Status(context.Context) (Status, error) { return Status{Name: "gw"}, f.err }
func (f *fakeBackend) Reload(context.Context) (ReloadResult, error) {
	return ReloadResult{Result: "reloaded"}, f.err
}
func (f *fakeBackend) RootCerts(context.Context) ([]RootCert, error) {
	return []RootCert{{Name: "r1"}}, f.err
}
func (f *fakeBackend) AddRootCert(_ context.Context, req AddRootCertRequest) (RootCert, error) {
	f.added = req
	return RootCert{Name: req.Name}, f.err
}
func (f *fakeBackend) RemoveRootCert(_ context.Context, name string) error {
	f.removed = append(f.removed, name)
	return f.err
}
func (f *fakeBackend) RevokedCerts(context.Context) ([]RevokedCert, error) { return nil, f.err }
func (f *fakeBackend) AddRevokedCert(_ context.Context, req AddRevokedCertRequest) (RevokedCert, error) {
	return RevokedCert{Name: req.Name}, f.err
}
func (f *fakeBackend) RemoveRevokedCert(context.Context, string) error { return f.err }
func (f *fakeBackend) Connections(context.Context) ([]Connection, error) {
	return []Connection{}, f.err
}
func (f *fakeBackend) Disconnect(_ context.Context, ids []string) ([]string, error) {
	return ids, f.err
}
func (f *fakeBackend) VPNClientSettings(_ context.Context, auth string) (VPNClientSettings, error) {
	return VPNClientSettings{Name: "gw", Auth: auth}, f.err
}

func do(t *testing.T, h http.Handler, method, path, body string) (*http.Response, ErrorBody, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	data, _ := io.ReadAll(resp.Body)
	var eb ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &eb); err != nil {
			t.Fatalf("%s %s: error reply is not an ErrorBody: %s", method, path, data)
		}
	}
	return resp, eb, string(data)
}

func TestHandlerRoutesAndErrors(t *testing.T) {
	b := &fakeBackend{}
	h := NewHandler(b, slog.New(slog.NewTextHandler(io.Discard, nil)))

	tests := []struct {
		name, method, path, body string
		backendErr               error
		wantStatus               int
		wantCode                 string
	}{
		{"status", "GET", "/v1/status", "", nil, 200, ""},
		{"healthz", "GET", "/healthz", "", nil, 200, ""},
		{"add root", "POST", "/v1/root-certs", `{"name":"r","public_cert_data":"AA=="}`, nil, 201, ""},
		{"add root refused by backend", "POST", "/v1/root-certs", `{"name":"r","public_cert_data":"AA=="}`, BadRequest(CodeNotCA, "not a CA"), 400, CodeNotCA},
		{"unknown JSON field", "POST", "/v1/root-certs", `{"name":"r","data":"x"}`, nil, 400, CodeBadRequest},
		{"not JSON", "POST", "/v1/revoked-certs", `name=r`, nil, 400, CodeBadRequest},
		{"trailing data", "POST", "/v1/revoked-certs", `{"name":"r","thumbprint":"x"} {}`, nil, 400, CodeBadRequest},
		{"too large", "POST", "/v1/root-certs", `{"name":"` + strings.Repeat("a", maxBody) + `"}`, nil, 413, CodeBadRequest},
		{"remove root", "DELETE", "/v1/root-certs/r1", "", nil, 204, ""},
		{"remove unknown", "DELETE", "/v1/root-certs/zz", "", NotFound("no root zz"), 404, CodeNotFound},
		{"duplicate", "POST", "/v1/revoked-certs", `{"name":"r","thumbprint":"x"}`, Conflict("dup"), 409, CodeDuplicate},
		{"disconnect without ids", "POST", "/v1/connections/disconnect", `{"ids":[]}`, nil, 400, CodeBadRequest},
		{"disconnect", "POST", "/v1/connections/disconnect", `{"ids":["IKEv2_X"]}`, nil, 200, ""},
		{"internal error", "GET", "/v1/connections", "", io.ErrUnexpectedEOF, 500, CodeInternal},
		{"unknown route", "GET", "/v1/nope", "", nil, 404, CodeNotFound},
		{"wrong method", "GET", "/v1/reload", "", nil, 404, CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.err = tt.backendErr
			resp, eb, body := do(t, h, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode != "" && eb.Error.Code != tt.wantCode {
				t.Fatalf("code = %q, want %q; body %s", eb.Error.Code, tt.wantCode, body)
			}
			if tt.wantCode != "" && eb.Error.Message == "" {
				t.Fatalf("error without a message: %s", body)
			}
		})
	}
	if b.added.Name != "r" || strings.Join(b.removed, ",") != "r1,zz" {
		t.Errorf("backend saw add %+v remove %q", b.added, b.removed)
	}
}
