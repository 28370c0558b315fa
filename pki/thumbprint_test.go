package pki

import (
	"encoding/json"
	"testing"
)

func TestThumbprintsOf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Thumbprints
	}{
		// FIPS 180-2 appendix examples.
		{"abc", "abc", Thumbprints{
			SHA1:   "A9993E364706816ABA3E25717850C26C9CD0D89D",
			SHA256: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		}},
		{"empty", "", Thumbprints{
			SHA1:   "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
			SHA256: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ThumbprintsOf([]byte(tt.in)); got != tt.want {
				t.Errorf("ThumbprintsOf(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestThumbprintsJSON(t *testing.T) {
	data, err := json.Marshal(ThumbprintsOf([]byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"sha1":"A9993E364706816ABA3E25717850C26C9CD0D89D","sha256":"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"}`
	if string(data) != want {
		t.Errorf("JSON %s, want %s", data, want)
	}
}
