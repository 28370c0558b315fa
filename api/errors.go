package api

import (
	"fmt"
	"net/http"
)

// Error is an admin API error: an HTTP status, a stable machine-readable code and a message a
// user can act on. Backends return *Error for every refusal a user caused; any other error is
// an internal failure (500).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	CodeBadRequest    = "bad_request"
	CodeInvalidName   = "invalid_name"
	CodeInvalidCert   = "invalid_certificate"
	CodeNotCA         = "not_a_ca_certificate"
	CodeBadThumbprint = "invalid_thumbprint"
	CodeDuplicate     = "duplicate"
	CodeNotFound      = "not_found"
	CodeLimit         = "limit_reached"
	CodeInvalidConfig = "invalid_configuration"
	CodeInternal      = "internal_error"
)

// Errorf returns an *Error with status, code and a formatted message.
func Errorf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// BadRequest returns a 400 *Error.
func BadRequest(code, format string, a ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, a...)
}

// NotFound returns a 404 *Error.
func NotFound(format string, a ...any) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, format, a...)
}

// Conflict returns a 409 *Error for a duplicate.
func Conflict(format string, a ...any) *Error {
	return Errorf(http.StatusConflict, CodeDuplicate, format, a...)
}
