package clientconfig

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// zipTime is every entry's modification time: fixed, so the same files give the same
// bytes. (The zip format cannot hold a time before 1980.)
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip packs files (path → content, as Generate returns them) into a zip archive: entries
// sorted by name, deflated, with a fixed modification time, mode 0600 for a file that
// carries a private key (Private) and 0644 for the rest. Equal input gives equal bytes.
// A name must be a clean relative slash-separated path (io/fs.ValidPath), else Zip returns
// an error wrapping ErrPath. Zip does not modify files.
func Zip(files map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		if !fs.ValidPath(name) || name == "." || strings.Contains(name, `\`) {
			return nil, fmt.Errorf("%w: %q", ErrPath, name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
		mode := fs.FileMode(0o644)
		if Private(name, files[name]) {
			mode = 0o600
		}
		h.SetMode(mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("clientconfig: zip %s: %w", name, err)
		}
		if _, err := f.Write(files[name]); err != nil {
			return nil, fmt.Errorf("clientconfig: zip %s: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("clientconfig: zip: %w", err)
	}
	return buf.Bytes(), nil
}

// Private reports whether a package file carries a private key, and so should be
// readable by its owner only: a key or PKCS#12 file (.key, .p12, .pfx), PEM holding a
// PRIVATE KEY block, or a profile that embeds a PKCS#12 (an Apple profile with a
// com.apple.security.pkcs12 payload, a strongSwan Android profile with "p12").
func Private(name string, data []byte) bool {
	switch {
	case strings.HasSuffix(name, ".key"), strings.HasSuffix(name, ".p12"), strings.HasSuffix(name, ".pfx"):
		return true
	case bytes.Contains(data, []byte("PRIVATE KEY-----")):
		return true
	case strings.HasSuffix(name, ".mobileconfig"):
		return bytes.Contains(data, []byte("<string>com.apple.security.pkcs12</string>"))
	case strings.HasSuffix(name, ".sswan"):
		return bytes.Contains(data, []byte(`"p12":`))
	}
	return false
}
