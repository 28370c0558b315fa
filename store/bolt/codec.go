package bolt

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/store"
)

// Bucket and key names; the package comment gives the layout.
var (
	bucketMeta       = []byte("meta")
	bucketRoots      = []byte("roots")
	bucketRevoked    = []byte("revoked")
	bucketLeases     = []byte("leases")
	bucketSessions   = []byte("sessions")
	keySchemaVersion = []byte("schema_version")

	dataBuckets = [][]byte{bucketRoots, bucketRevoked, bucketLeases, bucketSessions}
)

// poolKey is the name of pool's bucket under leases/: its masked prefix in text form, so
// 100.64.0.9/16 and 100.64.0.0/16 are one pool.
func poolKey(pool netip.Prefix) []byte { return []byte(pool.Masked().String()) }

// addrKey is addr's key in its pool bucket: its 4 or 16 raw bytes. A pool holds addresses of
// one family, so its keys all have one length and their byte order is numeric order.
func addrKey(addr netip.Addr) []byte { return addr.AsSlice() }

// corrupt reports the record under key (spelt as in the layout) as undecodable.
func corrupt(key string, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrCorrupt, key, fmt.Sprintf(format, args...))
}

// decodeRoot decodes the value stored under roots/<key>.
func decodeRoot(key, val []byte) (store.RootCert, error) {
	var r store.RootCert
	path := fmt.Sprintf("roots/%q", key)
	if err := json.Unmarshal(val, &r); err != nil {
		return store.RootCert{}, corrupt(path, "%v", err)
	}
	if r.Name != string(key) {
		return store.RootCert{}, corrupt(path, "record is named %q", r.Name)
	}
	return r, nil
}

// decodeRevoked decodes the value stored under revoked/<key>.
func decodeRevoked(key, val []byte) (store.RevokedCert, error) {
	var r store.RevokedCert
	path := fmt.Sprintf("revoked/%q", key)
	if err := json.Unmarshal(val, &r); err != nil {
		return store.RevokedCert{}, corrupt(path, "%v", err)
	}
	if r.Name != string(key) {
		return store.RevokedCert{}, corrupt(path, "record is named %q", r.Name)
	}
	return r, nil
}

// decodeSession decodes the value stored under sessions/<key>.
func decodeSession(key, val []byte) (store.Session, error) {
	var s store.Session
	path := fmt.Sprintf("sessions/%q", key)
	if err := json.Unmarshal(val, &s); err != nil {
		return store.Session{}, corrupt(path, "%v", err)
	}
	if s.ID != string(key) {
		return store.Session{}, corrupt(path, "record has id %q", s.ID)
	}
	return s, nil
}

// decodeLease decodes the value stored under leases/<pool>/<key>, checking that both key
// segments are well formed and that the record agrees with them.
func decodeLease(pool, key, val []byte) (store.Lease, error) {
	path := fmt.Sprintf("leases/%q/%x", pool, key)
	p, err := netip.ParsePrefix(string(pool))
	if err != nil || p != p.Masked() {
		return store.Lease{}, corrupt(path, "pool segment is not a masked prefix")
	}
	addr, ok := netip.AddrFromSlice(key)
	if !ok || !p.Contains(addr) {
		return store.Lease{}, corrupt(path, "address segment is not an address of the pool")
	}
	path = fmt.Sprintf("leases/%s/%s", p, addr)
	var l store.Lease
	if err := json.Unmarshal(val, &l); err != nil {
		return store.Lease{}, corrupt(path, "%v", err)
	}
	if l.Addr != addr || l.Pool.Masked() != p {
		return store.Lease{}, corrupt(path, "record is for %s in %s", l.Addr, l.Pool)
	}
	return l, nil
}
