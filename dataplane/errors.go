package dataplane

import "errors"

// ErrAddrInUse: another session's sender holds the address.
var ErrAddrInUse = errors.New("dataplane: address attached already")

// DropReason says why the data plane dropped a packet.
type DropReason int

// Drop reasons.
const (
	DropMalformed DropReason = iota // not a well-formed IPv4 packet
	DropNotIPv4                     // IPv6 or another protocol: the pools are IPv4 only
	DropSpoofed                     // source is not the sending client's address
	DropPolicy                      // destination not allowed (not in the VNet; client-to-client off)
	DropNoSession                   // no session holds the destination address
	DropTUNWrite                    // the TUN refused the write
	DropTUNRead                     // the TUN read failed for this batch
	DropRateLimit                   // over the throughput limit (the SKU's rate)
	numDropReasons
)

var dropNames = [numDropReasons]string{"malformed", "not_ipv4", "spoofed", "policy", "no_session", "tun_write", "tun_read", "rate_limit"}

func (r DropReason) String() string {
	if r < 0 || r >= numDropReasons {
		return "unknown"
	}
	return dropNames[r]
}

// DropReasons lists every reason, for metrics.
func DropReasons() []DropReason {
	out := make([]DropReason, numDropReasons)
	for i := range out {
		out[i] = DropReason(i)
	}
	return out
}
