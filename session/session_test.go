package session

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
	"github.com/p2sgw/p2sgw/store/memstore"
)

var ctx = context.Background()

func TestNewID(t *testing.T) {
	for proto, re := range map[string]string{
		IKEv2:   `^IKEv2_[0-9A-F-]{36}$`,
		SSTP:    `^SSTP_[0-9A-F-]{36}$`,
		OpenVPN: `^OVPN_[0-9A-F-]{36}$`,
	} {
		if id := NewID(proto); !regexp.MustCompile(re).MatchString(id) {
			t.Errorf("NewID(%s) = %q, want %s", proto, id, re)
		}
	}
	if NewID(IKEv2) == NewID(IKEv2) {
		t.Error("NewID repeats")
	}
}

func TestRegistry(t *testing.T) {
	st := memstore.New()
	r, err := NewRegistry(ctx, st, "node1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var closed []string
	a := &Session{ID: NewID(IKEv2), User: "alice", Protocol: IKEv2, StartedAt: t0.Add(time.Minute), Close: func(reason string) { closed = append(closed, reason) }}
	b := &Session{ID: NewID(SSTP), User: "bob", Protocol: SSTP, StartedAt: t0}
	for _, s := range []*Session{a, b} {
		if err := r.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add(ctx, a); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate Add = %v", err)
	}
	if l := r.List(); len(l) != 2 || l[0] != b || l[1] != a {
		t.Fatalf("List is not oldest first")
	}
	if r.Count("") != 2 || r.Count(IKEv2) != 1 || r.Count(OpenVPN) != 0 {
		t.Fatalf("Count wrong")
	}
	recs, _ := st.Sessions(ctx)
	if len(recs) != 2 || recs[0].Node != "node1" {
		t.Fatalf("store records = %+v", recs)
	}

	if err := r.Disconnect(ctx, a.ID, "disconnected by admin"); err != nil {
		t.Fatal(err)
	}
	if len(closed) != 1 || closed[0] != "disconnected by admin" || r.Get(a.ID) != nil {
		t.Fatalf("Disconnect did not close and remove: closed=%v", closed)
	}
	if err := r.Disconnect(ctx, a.ID, "again"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Disconnect of a gone session = %v, want ErrNotFound", err)
	}
	if err := r.Remove(ctx, "unknown"); err != nil {
		t.Fatalf("Remove unknown = %v", err)
	}
	recs, _ = st.Sessions(ctx)
	if len(recs) != 1 || recs[0].ID != b.ID {
		t.Fatalf("store after disconnect = %+v", recs)
	}
}

func TestRegistryDropsStaleRecordsOfItsNode(t *testing.T) {
	st := memstore.New()
	st.PutSession(ctx, store.Session{ID: "IKEv2_OLD", Node: "node1"})
	st.PutSession(ctx, store.Session{ID: "IKEv2_OTHER", Node: "node2"})
	if _, err := NewRegistry(ctx, st, "node1"); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.Sessions(ctx)
	if len(recs) != 1 || recs[0].ID != "IKEv2_OTHER" {
		t.Fatalf("records after start = %+v, want only the other node's", recs)
	}
}

// TestAddIf: the check sees the live sessions per protocol and, under the registry's lock, a
// refusal leaves nothing registered.
func TestAddIf(t *testing.T) {
	r, err := NewRegistry(context.Background(), memstore.New(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	atMostOne := func(c Counts) error {
		if c[SSTP] >= 1 {
			return errors.New("full")
		}
		return nil
	}
	if err := r.AddIf(context.Background(), &Session{ID: "a", Protocol: SSTP}, atMostOne); err != nil {
		t.Fatal(err)
	}
	if err := r.AddIf(context.Background(), &Session{ID: "b", Protocol: SSTP}, atMostOne); err == nil || r.Get("b") != nil {
		t.Fatalf("the second SSTP session was added: %v", err)
	}
	if err := r.AddIf(context.Background(), &Session{ID: "c", Protocol: IKEv2}, nil); err != nil {
		t.Fatal(err)
	}
	if c := r.Counts(); c[SSTP] != 1 || c[IKEv2] != 1 || c.Total() != 2 {
		t.Fatalf("counts %v", c)
	}
}

type failingStore struct{ store.Store }

func (failingStore) PutSession(context.Context, store.Session) error { return errors.New("disk full") }

// TestCountsFollowAddAndRemove: the per-protocol counts the registry keeps follow every add,
// removal and failed write, and Counts hands out a copy.
func TestCountsFollowAddAndRemove(t *testing.T) {
	r, err := NewRegistry(ctx, memstore.New(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{IKEv2, IKEv2, SSTP} {
		if err := r.Add(ctx, &Session{ID: fmt.Sprint("s", i), Protocol: p}); err != nil {
			t.Fatal(err)
		}
	}
	c := r.Counts()
	c[IKEv2] = 100
	if r.Count(IKEv2) != 2 || r.Count(SSTP) != 1 || r.Count("") != 3 {
		t.Fatalf("counts %v after three adds (and a change to a copy)", r.Counts())
	}
	r.Remove(ctx, "s0")
	r.Remove(ctx, "s0")
	r.Remove(ctx, "s2")
	if c := r.Counts(); len(c) != 1 || c[IKEv2] != 1 {
		t.Fatalf("counts %v after removing s0 twice and s2, want IKEv2:1 only", c)
	}
	r.st = failingStore{r.st}
	if err := r.Add(ctx, &Session{ID: "s3", Protocol: OpenVPN}); err == nil {
		t.Fatal("Add with a failing store succeeded")
	}
	if c := r.Counts(); c.Total() != 1 || r.Count(OpenVPN) != 0 {
		t.Fatalf("counts %v after a failed add", c)
	}
}
