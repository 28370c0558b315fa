// Package sstp speaks MS-SSTP, the Secure Socket Tunneling Protocol that Windows' built-in
// VPN client uses for Azure-style point-to-site connections: the HTTP handshake on an
// established TLS connection, the SSTP packet and control-message codec, and the call state
// machine of both sides, including the crypto binding (MS-SSTP §3.2.5.2) that ties the PPP
// authentication to the TLS connection and so keeps a man in the middle from relaying it.
//
// It knows nothing of PPP: frames are opaque byte slices, except that the server reads a
// frame's protocol field to let only PPP control frames (protocol ≥ 0x8000) through until the
// crypto binding has been verified (§3.3.7.2). It does not do TLS either: Accept and Dial take
// a connection whose TLS handshake the caller has done (and whose server certificate the
// caller hashes, see CertHashes).
//
// # Server
//
// Accept answers the HTTP request and the CALL_CONNECT_REQUEST and returns a *ServerConn.
// The caller's PPP layer then loops on ReadFrame and sends with WriteFrame or WriteFrames;
// ReadFrame handles every control message itself. When PPP authentication has produced its
// keys the caller hands the Higher-Layer Authentication Key to SetHLAK; a CALL_CONNECTED that
// came earlier is held until then. Connected is closed once the binding has verified; from
// then on PPP data frames flow.
//
//	CALL_CONNECT_REQUEST { ENCAPSULATED_PROTOCOL_ID }          -->
//	                        <--  CALL_CONNECT_ACK { CRYPTO_BINDING_REQ(hashes, nonce) }
//	PPP control frames (LCP, auth)                             <->
//	                                           SetHLAK(hlak) (from PPP auth or RADIUS)
//	CALL_CONNECTED { CRYPTO_BINDING(hash, nonce, cert hash, compound MAC) } -->
//	PPP control and data frames                                <->
//
// # Timers
//
// The timers of §3.1.2 and §3.3.2 (negotiation, hello, abort, disconnect) run inside
// ReadFrame, as read deadlines on the connection, so they run only while someone calls
// ReadFrame; a PPP layer does that all the time. The hello timer is restarted by received
// packets at the granularity of the timer itself: a peer is declared dead between one and two
// intervals after its last packet, never sooner than one.
package sstp
