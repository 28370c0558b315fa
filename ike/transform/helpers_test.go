package transform

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// unhex decodes hex, failing the test on bad input. Spaces are ignored.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// stream returns a deterministic random stream for seed.
func stream(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

// fixed returns a reader that yields exactly b, then io.EOF.
func fixed(b ...[]byte) *bytes.Reader { return bytes.NewReader(bytes.Join(b, nil)) }

// readVectors parses a testdata file of "key = value" lines in blank-line separated blocks.
func readVectors(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#"):
		case line == "":
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = map[string]string{}
			}
		default:
			k, v, ok := strings.Cut(line, " = ")
			if !ok {
				t.Fatalf("%s: bad line %q", path, line)
			}
			cur[k] = v
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}
