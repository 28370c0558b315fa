package freeradius

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// Record is one Accounting-Request as the detail module wrote it: attribute name → value
// ("Acct-Status-Type" → "Start", "Acct-Input-Octets" → "1234"). Quoted strings are unquoted
// ("Acct-Session-Id" → `5f2a…`, not `"5f2a…"`); other values are as FreeRADIUS prints them
// (names of enumerated values, dotted quads, hex octets "0x…"). An attribute that appears
// more than once keeps its last value. Besides the request's own attributes FreeRADIUS adds
// NAS-IP-Address (the packet's source, if the request had none), Event-Timestamp (if the
// request had none), Acct-Unique-Session-Id and Timestamp (Unix seconds).
type Record map[string]string

// HeaderKey is the key of the line that opens a record: the time FreeRADIUS wrote it, as
// ctime prints it ("Wed Nov 26 01:30:00 2025"). Attribute names have no spaces, so it is no
// attribute's.
const HeaderKey = "detail header"

// Header returns the record's opening line (HeaderKey).
func (r Record) Header() string { return r[HeaderKey] }

// AcctRecords returns what the server wrote to its detail file so far, oldest first; none if
// it has received no accounting yet. FreeRADIUS writes a record before it sends the
// Accounting-Response, so a test may read the record of a request it saw answered. It calls
// t.Fatal if the file cannot be read.
func (s *Server) AcctRecords(t testnet.T) []Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, detailFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("freeradius: %v", err)
	}
	return parseDetail(string(b))
}

// parseDetail parses a detail file: records separated by blank lines, each a header line at
// the left margin followed by tab-indented "Name = value" lines. It never fails: a line it
// does not understand is skipped, and a record cut short by a write in progress is returned
// as far as it goes.
func parseDetail(text string) []Record {
	var (
		records []Record
		cur     Record
	)
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			cur = nil
		case line[0] != ' ' && line[0] != '\t':
			cur = Record{HeaderKey: line}
			records = append(records, cur)
		case cur != nil:
			name, value, ok := strings.Cut(strings.TrimSpace(line), " = ")
			if ok {
				cur[name] = unquote(value)
			}
		}
	}
	return records
}

// unquote removes the double quotes around a string value and undoes its escapes
// (\" \\ \n \r \t and octal \ooo, a subset of Go's); anything else is returned unchanged.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	if u, err := strconv.Unquote(v); err == nil {
		return u
	}
	return v[1 : len(v)-1]
}
