// Package api is the gateway's admin API: JSON over HTTP, served on a unix socket (and
// optionally TCP with mutual TLS) by p2sgw serve and used by the CLI through package
// apiclient. It defines the wire types and the HTTP handlers; the work is done by a Backend
// (package gateway), so the handlers are tested against a fake.
//
// Routes (all under /v1):
//
//	GET    /v1/status
//	POST   /v1/reload
//	GET    /v1/root-certs              POST /v1/root-certs         DELETE /v1/root-certs/{name}
//	GET    /v1/revoked-certs           POST /v1/revoked-certs      DELETE /v1/revoked-certs/{name}
//	GET    /v1/connections             POST /v1/connections/disconnect
//	GET    /healthz
//
// A refusal is a 4xx with ErrorBody naming the problem; an internal failure is a 500.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// Backend does what the API asks. Methods return *Error for refusals a user caused.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Reload(ctx context.Context) (ReloadResult, error)

	RootCerts(ctx context.Context) ([]RootCert, error)
	AddRootCert(ctx context.Context, req AddRootCertRequest) (RootCert, error)
	RemoveRootCert(ctx context.Context, name string) error

	RevokedCerts(ctx context.Context) ([]RevokedCert, error)
	AddRevokedCert(ctx context.Context, req AddRevokedCertRequest) (RevokedCert, error)
	RemoveRevokedCert(ctx context.Context, name string) error

	Connections(ctx context.Context) ([]Connection, error)
	Disconnect(ctx context.Context, ids []string) ([]string, error)

	// VPNClientSettings are what the VPN client configuration package describes, for auth
	// ("" picks the gateway's first).
	VPNClientSettings(ctx context.Context, auth string) (VPNClientSettings, error)
}

// maxBody bounds a request body; the largest legitimate one is a root certificate.
const maxBody = 1 << 20

// NewHandler returns the API's HTTP handler. log receives one line per refused or failed
// request.
func NewHandler(b Backend, log *slog.Logger) http.Handler {
	h := &handler{b: b, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /v1/status", h.get(func(ctx context.Context, _ *http.Request) (any, error) { return b.Status(ctx) }))
	mux.HandleFunc("POST /v1/reload", h.reload)
	mux.HandleFunc("GET /v1/root-certs", h.get(func(ctx context.Context, _ *http.Request) (any, error) { return b.RootCerts(ctx) }))
	mux.HandleFunc("POST /v1/root-certs", h.addRootCert)
	mux.HandleFunc("DELETE /v1/root-certs/{name}", h.remove(b.RemoveRootCert))
	mux.HandleFunc("GET /v1/revoked-certs", h.get(func(ctx context.Context, _ *http.Request) (any, error) { return b.RevokedCerts(ctx) }))
	mux.HandleFunc("POST /v1/revoked-certs", h.addRevokedCert)
	mux.HandleFunc("DELETE /v1/revoked-certs/{name}", h.remove(b.RemoveRevokedCert))
	mux.HandleFunc("GET /v1/connections", h.get(func(ctx context.Context, _ *http.Request) (any, error) { return b.Connections(ctx) }))
	mux.HandleFunc("POST /v1/connections/disconnect", h.disconnect)
	mux.HandleFunc("GET /v1/vpn-client/settings", h.get(func(ctx context.Context, r *http.Request) (any, error) {
		return b.VPNClientSettings(ctx, r.URL.Query().Get("auth"))
	}))
	mux.HandleFunc("GET /v1/vpn-client/package", h.vpnClientPackage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, NotFound("no such API endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// vpnClientPackage serves the VPN client configuration zip for download (without a user's
// identity: `p2sgw vpn-client generate --client` adds one on the admin's machine).
func (h *handler) vpnClientPackage(w http.ResponseWriter, r *http.Request) {
	s, err := h.b.VPNClientSettings(r.Context(), r.URL.Query().Get("auth"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	zip, err := s.Package(nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="VpnClientConfiguration.zip"`)
	w.Write(zip)
}

type handler struct {
	b   Backend
	log *slog.Logger
}

func (h *handler) get(fn func(context.Context, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r.Context(), r)
		h.reply(w, r, http.StatusOK, v, err)
	}
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Reload(r.Context())
	h.reply(w, r, http.StatusOK, res, err)
}

func (h *handler) addRootCert(w http.ResponseWriter, r *http.Request) {
	var req AddRootCertRequest
	if !h.decode(w, r, &req) {
		return
	}
	v, err := h.b.AddRootCert(r.Context(), req)
	h.reply(w, r, http.StatusCreated, v, err)
}

func (h *handler) addRevokedCert(w http.ResponseWriter, r *http.Request) {
	var req AddRevokedCertRequest
	if !h.decode(w, r, &req) {
		return
	}
	v, err := h.b.AddRevokedCert(r.Context(), req)
	h.reply(w, r, http.StatusCreated, v, err)
}

func (h *handler) remove(fn func(context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(r.Context(), r.PathValue("name"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *handler) disconnect(w http.ResponseWriter, r *http.Request) {
	var req DisconnectRequest
	if !h.decode(w, r, &req) {
		return
	}
	if len(req.IDs) == 0 {
		h.fail(w, r, BadRequest(CodeBadRequest, "no connection ids given"))
		return
	}
	ids, err := h.b.Disconnect(r.Context(), req.IDs)
	h.reply(w, r, http.StatusOK, DisconnectResponse{Disconnected: ids}, err)
}

// decode reads a JSON request body strictly into v; on failure it replies and returns false.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, Errorf(http.StatusRequestEntityTooLarge, CodeBadRequest, "request body larger than %d bytes", maxBody))
			return false
		}
		h.fail(w, r, BadRequest(CodeBadRequest, "request body is not valid JSON for this endpoint: %v", err))
		return false
	}
	if dec.More() {
		h.fail(w, r, BadRequest(CodeBadRequest, "request body has data after the JSON object"))
		return false
	}
	return true
}

func (h *handler) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		h.log.Error("admin API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = Errorf(http.StatusInternalServerError, CodeInternal, "internal error: %v", err)
	} else {
		h.log.Info("admin API request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status, "code", e.Code, "reason", e.Message)
	}
	writeJSON(w, e.Status, ErrorBody{Error: *e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, CodeInternal, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
