package sstp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The HTTP handshake (§4.1). net/http cannot read the request: its Content-Length of 2^64−1
// does not fit the int64 net/http parses it into. So the request line and headers are read
// here, by hand and within limits, from the bufio.Reader that then carries the SSTP stream.
//
//	SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1
//	Host: vpn.example.com
//	Content-Length: 18446744073709551615
//	SSTPCORRELATIONID: {62DF0C62-1B4B-4CA6-9D6E-5A2E0C3C5D11}
//
//	HTTP/1.1 200 OK
//	Content-Length: 18446744073709551615
//	Server: Microsoft-HTTPAPI/2.0
//	Date: Thu, 09 Nov 2006 00:51:09 GMT

const (
	// Method and URI are the request's fixed method and path.
	Method = "SSTP_DUPLEX_POST"
	URI    = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"

	// maxHeaderBytes bounds the request line and headers together; a request from a real
	// client is under 250 bytes. maxHeaderLines bounds the number of header lines.
	maxHeaderBytes    = 8 << 10
	maxHeaderLines    = 32
	maxCorrelationLen = 64
	contentLengthMax  = "18446744073709551615"
)

// Request is what the server learned from the HTTP request.
type Request struct {
	Host          string
	CorrelationID string // SSTPCORRELATIONID, "" if absent
}

// ReadRequest reads the HTTP request of an SSTP client from r, and returns it, or an
// *HTTPError with the status to answer. It reads at most maxHeaderBytes, so a peer cannot
// make it buffer much; a deadline on the connection is the caller's.
func ReadRequest(r *bufio.Reader) (Request, error) {
	lines, err := readHeaderLines(r)
	if err != nil {
		return Request{}, err
	}
	method, uri, proto, ok := splitRequestLine(lines[0])
	switch {
	case !ok:
		return Request{}, httpErr(http.StatusBadRequest, "malformed request line")
	case !strings.HasPrefix(proto, "HTTP/1."):
		return Request{}, httpErr(http.StatusHTTPVersionNotSupported, "protocol "+quote(proto))
	case proto != "HTTP/1.1":
		return Request{}, httpErr(http.StatusHTTPVersionNotSupported, "protocol "+quote(proto)+", need HTTP/1.1")
	case uri != URI:
		return Request{}, httpErr(http.StatusNotFound, "path "+quote(uri))
	case method != Method:
		return Request{}, httpErr(http.StatusMethodNotAllowed, "method "+quote(method))
	}
	var req Request
	var haveHost bool
	for _, line := range lines[1:] {
		name, value, ok := splitHeader(line)
		if !ok {
			return Request{}, httpErr(http.StatusBadRequest, "malformed header line")
		}
		switch strings.ToLower(name) {
		case "host":
			if haveHost {
				return Request{}, httpErr(http.StatusBadRequest, "two Host headers")
			}
			req.Host, haveHost = value, true
		case "content-length":
			if _, err := strconv.ParseUint(value, 10, 64); err != nil {
				return Request{}, httpErr(http.StatusBadRequest, "Content-Length "+quote(value))
			}
		case "transfer-encoding":
			return Request{}, httpErr(http.StatusBadRequest, "Transfer-Encoding in an SSTP request")
		case "sstpcorrelationid":
			if !validCorrelationID(value) {
				return Request{}, httpErr(http.StatusBadRequest, "SSTPCORRELATIONID "+quote(value))
			}
			req.CorrelationID = value
		}
	}
	if !haveHost {
		return Request{}, httpErr(http.StatusBadRequest, "no Host header")
	}
	return req, nil
}

// readHeaderLines reads lines up to the empty one that ends the header, without their line
// ends. There is at least one line.
func readHeaderLines(r *bufio.Reader) ([]string, error) {
	var lines []string
	total := 0
	for {
		line, err := r.ReadSlice('\n')
		total += len(line)
		switch {
		case total > maxHeaderBytes || errors.Is(err, bufio.ErrBufferFull):
			return nil, httpErr(http.StatusRequestHeaderFieldsTooLarge, "header longer than "+strconv.Itoa(maxHeaderBytes)+" bytes")
		case err == io.EOF && len(lines) == 0 && len(line) == 0:
			return nil, err
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if len(lines) == 0 {
				continue // RFC 9112 §2.2: ignore empty lines before the request line
			}
			return lines, nil
		}
		if len(lines) == maxHeaderLines+1 {
			return nil, httpErr(http.StatusRequestHeaderFieldsTooLarge, "more than "+strconv.Itoa(maxHeaderLines)+" header lines")
		}
		lines = append(lines, string(line))
	}
}

func splitRequestLine(line string) (method, uri, proto string, ok bool) {
	method, rest, ok1 := strings.Cut(line, " ")
	uri, proto, ok2 := strings.Cut(rest, " ")
	return method, uri, proto, ok1 && ok2 && method != "" && uri != "" && !strings.Contains(proto, " ")
}

// splitHeader splits "Name: value". Folded lines (obs-fold) and names with spaces are
// refused, as RFC 9112 §5 asks of a server.
func splitHeader(line string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(line, ":")
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", "", false
	}
	return name, strings.Trim(value, " \t"), true
}

func validCorrelationID(s string) bool {
	if len(s) > maxCorrelationLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("{}-", c) >= 0) {
			return false
		}
	}
	return true
}

// quote quotes s for an error message, cut to a length that keeps logs readable.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

func httpErr(status int, reason string) error { return &HTTPError{Status: status, Reason: reason} }

// appendResponse appends the answer to the request: 200 with the endless Content-Length, or
// an error status that closes the connection.
func appendResponse(b []byte, status int, now time.Time) []byte {
	b = fmt.Appendf(b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if status == http.StatusOK {
		b = append(b, "Content-Length: "+contentLengthMax+"\r\n"...)
	} else {
		b = append(b, "Content-Length: 0\r\nConnection: close\r\n"...)
	}
	if status == http.StatusMethodNotAllowed {
		b = append(b, "Allow: "+Method+"\r\n"...)
	}
	// Windows' own server sends this; some clients are said to look for it.
	b = append(b, "Server: Microsoft-HTTPAPI/2.0\r\n"...)
	b = now.UTC().AppendFormat(append(b, "Date: "...), http.TimeFormat)
	return append(b, "\r\n\r\n"...)
}

// appendRequest appends a client's request.
func appendRequest(b []byte, host, correlationID string) []byte {
	b = append(b, Method+" "+URI+" HTTP/1.1\r\n"...)
	b = append(b, "Host: "+host+"\r\n"...)
	b = append(b, "Content-Length: "+contentLengthMax+"\r\n"...)
	return append(b, "SSTPCORRELATIONID: "+correlationID+"\r\n\r\n"...)
}

// readResponse reads the server's answer and returns nil if it is 200 on HTTP/1.1.
func readResponse(r *bufio.Reader) error {
	lines, err := readHeaderLines(r)
	if err != nil {
		return err
	}
	proto, rest, _ := strings.Cut(lines[0], " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	switch {
	case err != nil || len(code) != 3:
		return &HTTPError{Status: 0, Reason: "malformed status line " + quote(lines[0])}
	case status != http.StatusOK:
		return &HTTPError{Status: status, Reason: "server refused the request"}
	case proto != "HTTP/1.1":
		return &HTTPError{Status: status, Reason: "protocol " + quote(proto) + ", need HTTP/1.1"}
	}
	return nil
}
