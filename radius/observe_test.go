package radius

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// observation is one call of Config.Observe.
type observation struct {
	server, kind string
	d            time.Duration
}

// observer records Config.Observe's calls; the accounting worker calls it on its own goroutine.
type observer struct {
	mu  sync.Mutex // guards got
	got []observation
}

func (o *observer) observe(server, kind string, d time.Duration) {
	o.mu.Lock()
	o.got = append(o.got, observation{server, kind, d})
	o.mu.Unlock()
}

// answerFrom stays silent to the first n-1 requests a server receives and answers the n-th and
// every later one with code and attrs.
func answerFrom(n int, code radius.Code, attrs radius.Attributes) func(*radius.Packet) []datagram {
	seen := 0
	return func(req *radius.Packet) []datagram {
		if seen++; seen < n {
			return nil
		}
		return []datagram{{b: signAnswer(req, code, attrs, answerOpts{})}}
	}
}

// TestObserve: every authentic answer is observed once, with the server it came from, the
// kind of request and the time since the first transmission (the timeout is 50 ms, and the
// in-memory servers answer at once); an unanswered request is not observed.
func TestObserve(t *testing.T) {
	malformed := radius.Attributes{{Type: rfc2865.FramedIPAddress_Type, Attribute: []byte{1, 2, 3}}}
	for _, tc := range []struct {
		name    string
		a, b    func(*radius.Packet) []datagram // the answers of servers A and B
		account bool                            // send a Record rather than an Access-Request
		err     error                           // Exchange's
		want    []observation
	}{
		{
			name: "access answered at once",
			a:    answerFrom(1, radius.CodeAccessAccept, nil),
			want: []observation{{addrA, "access", 0}},
		},
		{
			name: "access answered on the retransmission",
			a:    answerFrom(2, radius.CodeAccessReject, nil),
			want: []observation{{addrA, "access", 50 * time.Millisecond}},
		},
		{
			name: "access after failover",
			b:    answerFrom(1, radius.CodeAccessAccept, nil),
			want: []observation{{addrB, "access", 0}},
		},
		{
			name: "access answer malformed",
			a:    answerFrom(1, radius.CodeAccessAccept, malformed),
			err:  ErrMalformed, // from A; B answers nothing
			want: []observation{{addrA, "access", 0}},
		},
		{
			name: "access unanswered",
			err:  ErrNoAnswer,
		},
		{
			name:    "accounting answered on the retry",
			a:       answerFrom(2, radius.CodeAccountingResponse, nil),
			account: true,
			want:    []observation{{addrA, "accounting", 50 * time.Millisecond}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newFakeServer(addrA, "secret-a", tc.a)
				b := newFakeServer(addrB, "secret-b", tc.b)
				var o observer
				c, _ := testClientWith(t, newMemNet(a, b), defaultQueueLen, func(cfg *Config) {
					cfg.Retries = 1
					cfg.Observe = o.observe
				}, a, b)
				if tc.account {
					c.Account(Record{Status: AcctStart, SessionID: "s"})
				} else {
					_, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")})
					if !errors.Is(err, tc.err) {
						t.Errorf("Exchange: %v; want %v", err, tc.err)
					}
				}
				if err := c.Close(t.Context()); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(o.got, tc.want) {
					t.Errorf("observed %v; want %v", o.got, tc.want)
				}
			})
		})
	}
}
