package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Parse and Load wrap them with "config: " and, for Load, the file's path.
var (
	// ErrEmpty is returned for a configuration with no content.
	ErrEmpty = errors.New("the configuration is empty")
	// ErrMultipleDocuments is returned when the file holds more than one YAML document.
	ErrMultipleDocuments = errors.New("more than one YAML document (gateway.yaml holds one; remove the extra ---)")
	// ErrTooLarge is returned for a configuration larger than MaxSize.
	ErrTooLarge = errors.New("the configuration is larger than 1 MiB")
)

// Errors of reading the files a configuration names; validation turns them into sentences.
var (
	errTooBig     = errors.New("file too large")
	errNotRegular = errors.New("not a regular file")
	errNoCert     = errors.New("no PEM CERTIFICATE block")
)

// FieldError is one problem with one field of the configuration.
type FieldError struct {
	// Field is the YAML path of the field, e.g. "radius.servers[1].secret_file"; empty
	// when the problem concerns the whole file.
	Field string
	// Line is the 1-based line in the YAML file, or 0 when not known (Validate on a Config
	// built in code, or a field that took its default).
	Line int
	// Msg says what is wrong and, where possible, what to do, as a sentence without the
	// field name.
	Msg string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// ValidationError lists every problem found in a configuration, in the order of the file's
// sections. Use errors.As to get it from the errors of Parse, Load and Validate.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns each problem as an error.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}
