package sstp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// unhex decodes hex written as in the spec: spaces, newlines and hyphens allowed.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "", "-", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reader(b []byte) *bufio.Reader { return bufio.NewReaderSize(bytes.NewReader(b), readBufferSize) }

var testTime = time.Date(2006, 11, 9, 0, 51, 9, 0, time.UTC)
