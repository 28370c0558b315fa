// Package loadgen is an IKEv2 load generator: it opens many IKE SAs to a gateway with our own
// initiator (package ike) and certificate authentication, from many source addresses, and
// measures how fast they come up (handshakes per second), how long each takes (IKE_SA_INIT sent
// → IKE_AUTH answer verified) and why any failed. It can then hold the sessions open, answering
// the gateway's liveness checks, and push a few ESP packets through each to prove the data path.
// `p2sgw bench ikev2` is its command line; the handshake benchmark under bench/ and an
// end-to-end test drive it.
//
// It is not a VPN client: it opens no TUN device, installs no route and carries no user
// traffic. It does not rekey, and it refuses the gateway's CHILD SA rekeys (as our initiator
// does).
//
// The pipeline:
//
//	workers (Config.Concurrency, each bound to one source; certificates minted beforehand)
//	  → ike.NewInitiator → IKE_SA_INIT to port 500
//	  → [COOKIE or INVALID_KE_PAYLOAD → IKE_SA_INIT again]
//	  → IKE_AUTH to port 4500 behind the non-ESP marker → established: hand the SA to the demux
//	one socket per source address, one demux goroutine each
//	  → IKE by the initiator SPI: to the worker's inbox while it shakes hands, else SA.Handle
//	    (liveness checks, Deletes) right there
//	  → ESP by SPI: to the traffic check
//
// Memory: an established session is its ike.SA and a table entry; no goroutine, timer or
// channel. Workers, inboxes and retransmission timers exist only for handshakes in flight.
package loadgen
