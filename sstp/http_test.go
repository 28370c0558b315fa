package sstp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const goodRequest = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n" +
	"Host: vpn.example.com\r\n" +
	"Content-Length: 18446744073709551615\r\n" +
	"SSTPCORRELATIONID: {62DF0C62-1B4B-4CA6-9D6E-5A2E0C3C5D11}\r\n\r\n"

func TestReadRequest(t *testing.T) {
	req, err := ReadRequest(bufio.NewReader(strings.NewReader(goodRequest)))
	if err != nil {
		t.Fatal(err)
	}
	if req.Host != "vpn.example.com" || req.CorrelationID != "{62DF0C62-1B4B-4CA6-9D6E-5A2E0C3C5D11}" {
		t.Fatalf("%+v", req)
	}
	// Windows 10 sends the same headers in another order, and case does not matter.
	win := "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nSSTPCORRELATIONID: {1}\r\ncontent-length: 18446744073709551615\r\nhost: 10.0.0.1\r\n\r\n"
	if req, err := ReadRequest(bufio.NewReader(strings.NewReader(win))); err != nil || req.Host != "10.0.0.1" {
		t.Fatalf("%+v, %v", req, err)
	}
}

// Accept answers a refused request with an HTTP error and returns it as an *HTTPError.
func TestAcceptRefusesHTTP(t *testing.T) {
	long := strings.Repeat("a", 9000)
	many := strings.Repeat("X-A: b\r\n", 40)
	for _, tc := range []struct {
		name    string
		request string
		status  int // 0: no answer, the request never ended
	}{
		{"GET of the SSTP path", "GET " + URI + " HTTP/1.1\r\nHost: a\r\n\r\n", http.StatusMethodNotAllowed},
		{"GET /", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", http.StatusNotFound},
		{"wrong URI", "SSTP_DUPLEX_POST /sra_{00000000-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: a\r\n\r\n", http.StatusNotFound},
		{"HTTP/1.0", "SSTP_DUPLEX_POST " + URI + " HTTP/1.0\r\nHost: a\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"HTTP/2", "SSTP_DUPLEX_POST " + URI + " HTTP/2.0\r\nHost: a\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"no Host", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", http.StatusBadRequest},
		{"two Hosts", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", http.StatusBadRequest},
		{"bad Content-Length", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", http.StatusBadRequest},
		{"Transfer-Encoding", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusBadRequest},
		{"folded header", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", http.StatusBadRequest},
		{"bad correlation ID", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\nSSTPCORRELATIONID: {x}\x1b[31m\r\n\r\n", http.StatusBadRequest},
		{"garbage request line", "\x16\x03\x01\x02\x00\r\n\r\n", http.StatusBadRequest},
		{"oversized header line", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: " + long + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"too many headers", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"request never ends", "SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			go func() {
				_, _ = io.WriteString(b, tc.request)
				if tc.status == 0 {
					b.Close()
				}
			}()
			answer := make(chan string, 1)
			go func() {
				buf, _ := io.ReadAll(b)
				answer <- string(buf)
			}()
			_, err := Accept(context.Background(), a, ServerConfig{CertHashSHA256: make([]byte, 32)})
			a.Close()
			got := <-answer
			if tc.status == 0 {
				if err == nil || errors.Is(err, ErrHTTP) || got != "" {
					t.Fatalf("err %v, answer %q", err, got)
				}
				return
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tc.status || !errors.Is(err, ErrHTTP) {
				t.Fatalf("err %v, want status %d", err, tc.status)
			}
			if want := "HTTP/1.1 " + strconv.Itoa(tc.status) + " "; !strings.HasPrefix(got, want) || !strings.Contains(got, "Connection: close\r\n") {
				t.Fatalf("answer %q, want %q…", got, want)
			}
		})
	}
}

// A client that says nothing is dropped when the negotiation time is up.
func TestAcceptTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	_, err := Accept(context.Background(), a, ServerConfig{CertHashSHA1: make([]byte, 20), NegotiationTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v", err)
	}
}

func TestAcceptContext(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	errStop := errors.New("shutting down")
	time.AfterFunc(10*time.Millisecond, func() { cancel(errStop) })
	if _, err := Accept(ctx, a, ServerConfig{CertHashSHA1: make([]byte, 20)}); !errors.Is(err, errStop) {
		t.Fatalf("got %v", err)
	}
}

func TestServerConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ServerConfig
		want uint8 // 0: error
	}{
		{"no hashes", ServerConfig{}, 0},
		{"both", ServerConfig{CertHashSHA1: make([]byte, 20), CertHashSHA256: make([]byte, 32)}, 3},
		{"SHA256 only", ServerConfig{CertHashSHA256: make([]byte, 32)}, 2},
		{"SHA1 offered without its hash", ServerConfig{CertHashSHA256: make([]byte, 32), Hashes: 3}, 0},
		{"short hash", ServerConfig{CertHashSHA256: make([]byte, 20)}, 0},
		{"unknown bit", ServerConfig{CertHashSHA1: make([]byte, 20), Hashes: 5}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.cfg.withDefaults()
			if tc.want == 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil || cfg.Hashes != tc.want {
				t.Fatalf("hashes %#x, %v", cfg.Hashes, err)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	want := "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: Thu, 09 Nov 2006 00:51:09 GMT\r\n\r\n"
	if got := string(appendResponse(nil, http.StatusOK, testTime)); got != want {
		t.Fatalf("got %q", got)
	}
	if err := readResponse(bufio.NewReader(strings.NewReader(want))); err != nil {
		t.Fatal(err)
	}
	// The request Dial sends is one Accept takes.
	req := appendRequest(nil, "vpn.example.com", newCorrelationID())
	if r, err := ReadRequest(bufio.NewReader(strings.NewReader(string(req)))); err != nil || len(r.CorrelationID) != 38 {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestDialRefusedHTTP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string
		status int
	}{
		{"404", string(appendResponse(nil, http.StatusNotFound, testTime)), http.StatusNotFound},
		{"HTTP/1.0 200", "HTTP/1.0 200 OK\r\n\r\n", http.StatusOK},
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			go func() {
				_, _ = ReadRequest(bufio.NewReader(a))
				_, _ = io.WriteString(a, tc.answer)
			}()
			_, err := Dial(context.Background(), b, "vpn.example.com")
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Fatalf("got %v", err)
			}
		})
	}
}
