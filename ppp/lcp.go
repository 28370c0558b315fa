package ppp

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// LCP configuration options (RFC 1661 §6, RFC 1570, RFC 1990).
const (
	lcpMRU      = 1
	lcpACCM     = 2
	lcpAuth     = 3
	lcpQuality  = 4
	lcpMagic    = 5
	lcpPFC      = 7
	lcpACFC     = 8
	lcpCallback = 13
	lcpMRRU     = 17
	lcpEndpoint = 19
)

// lcpServer is the server's LCP policy. Of the peer's options it takes MRU (up to MaxMRU) and
// Magic-Number, and rejects the rest: PFC and ACFC (frames on SSTP are whole), Callback,
// multilink, ACCM (no async framing), and an Auth-Protocol (we do not authenticate to
// clients). It asks for our MRU, a magic number and the authentication method.
type lcpServer struct {
	s *Server

	// Ours.
	mru    int    // 0: not asked for any more
	magic  uint32 // 0: not asked for any more
	method Method
	tried  uint32 // bit per Method offered so far

	peerMRU   int
	peerMagic uint32
}

func (l *lcpServer) request(b []byte) []byte {
	if l.mru != 0 {
		b = appendOption(b, lcpMRU, byte(l.mru>>8), byte(l.mru))
	}
	b = appendAuthOption(b, l.method)
	if l.magic != 0 {
		b = appendOption(b, lcpMagic, binary.BigEndian.AppendUint32(nil, l.magic)...)
	}
	return b
}

func (l *lcpServer) check(opts []option) (uint8, []byte) {
	var nak, rej []byte
	mru, magic := defaultPeerMRU, uint32(0)
	for _, o := range opts {
		switch {
		case o.typ == lcpMRU && len(o.data) == 2:
			mru = int(binary.BigEndian.Uint16(o.data))
			if mru > MaxMRU {
				nak = appendOption(nak, lcpMRU, MaxMRU>>8, MaxMRU&0xFF)
			} else if mru < minMRU {
				nak = appendOption(nak, lcpMRU, minMRU>>8, minMRU&0xFF)
			}
		case o.typ == lcpMagic && len(o.data) == 4:
			magic = binary.BigEndian.Uint32(o.data)
			if magic != 0 && magic == l.magic {
				// Looped back, or a rare coincidence: both pick anew (RFC 1661 §6.4).
				l.magic = l.s.random32()
				nak = appendOption(nak, lcpMagic, binary.BigEndian.AppendUint32(nil, l.s.random32())...)
			}
		default:
			rej = appendOption(rej, o.typ, o.data...)
		}
	}
	switch {
	case rej != nil:
		return codeConfRej, rej
	case nak != nil:
		return codeConfNak, nak
	}
	l.peerMRU, l.peerMagic = mru, magic
	return codeConfAck, nil
}

func (l *lcpServer) nak(opts []option) error {
	for _, o := range opts {
		switch {
		case o.typ == lcpMRU && len(o.data) == 2:
			if v := int(binary.BigEndian.Uint16(o.data)); v >= minMRU && v <= MaxMRU {
				l.mru = v
			} else {
				l.mru = 0
			}
		case o.typ == lcpMagic:
			l.magic = l.s.random32()
		case o.typ == lcpAuth:
			if err := l.switchMethod(authMethod(o.data), o.data); err != nil {
				return err
			}
		}
	}
	return nil
}

// switchMethod takes the method the peer asks for instead of ours if we allow it and have not
// offered it yet; otherwise our next one.
func (l *lcpServer) switchMethod(want Method, raw []byte) error {
	if want != 0 && l.tried&(1<<want) == 0 {
		for _, m := range l.s.cfg.Methods {
			if m == want {
				l.method, l.tried = m, l.tried|1<<m
				return nil
			}
		}
	}
	for _, m := range l.s.cfg.Methods {
		if l.tried&(1<<m) == 0 {
			l.method, l.tried = m, l.tried|1<<m
			return nil
		}
	}
	asked := fmt.Sprintf("%x", raw)
	if want != 0 {
		asked = want.String()
	}
	return fmt.Errorf("LCP: the client wants authentication protocol %s; we allow only %s", asked, methodList(l.s.cfg.Methods))
}

func (l *lcpServer) reject(opts []option) error {
	for _, o := range opts {
		switch o.typ {
		case lcpMRU:
			l.mru = 0
		case lcpMagic:
			l.magic = 0
		case lcpAuth:
			return fmt.Errorf("LCP: the client refuses to authenticate (it rejects %v)", l.method)
		}
	}
	return nil
}

func methodList(ms []Method) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	return b.String()
}

// random32 is a nonzero random number; should the reader fail, a fixed one does (a magic
// number needs to differ from the peer's, not to be secret).
func (s *Server) random32() uint32 {
	var b [4]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return 0x5d3c1a07
	}
	if v := binary.BigEndian.Uint32(b[:]); v != 0 {
		return v
	}
	return 1
}
