package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRateLimit: a burst of one message passes, the rest is held back and counted in the next
// line that passes; another message and errors are not affected.
func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	log := slog.New(New(slog.NewTextHandler(&buf, nil), 1, 3, func() time.Time { return now })).With("component", "ikev2")
	for range 10 {
		log.Info("IKE_SA_INIT refused", "remote", "203.0.113.9:500")
	}
	log.Info("client connected", "user", "alice")
	log.Error("store failed")
	if n := strings.Count(buf.String(), "IKE_SA_INIT refused"); n != 3 {
		t.Fatalf("%d refusals logged in a burst of 3:\n%s", n, &buf)
	}
	if !strings.Contains(buf.String(), "client connected") || !strings.Contains(buf.String(), "store failed") {
		t.Fatalf("other lines were held back:\n%s", &buf)
	}
	buf.Reset()
	now = now.Add(2 * time.Second) // two more tokens
	log.Info("IKE_SA_INIT refused", "remote", "203.0.113.9:500")
	out := buf.String()
	if !strings.Contains(out, `msg="log lines suppressed" component=ikev2 message="IKE_SA_INIT refused" suppressed=7`) || strings.Count(out, `msg="IKE_SA_INIT refused"`) != 1 {
		t.Fatalf("after the pause: %s", out)
	}
}
