// Package netio is the gateway's UDP I/O: sockets that read and write batches of datagrams
// with one system call (recvmmsg/sendmmsg) and remember which local address each datagram
// arrived on, so a reply leaves from the address the client talked to even when the socket is
// bound to every address. IKE (UDP 500) and ESP-in-UDP with IKE (UDP 4500) both use it.
//
// Conn is the interface the protocols see; netiotest has an in-memory double.
package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// MaxDatagram is the largest datagram a read buffer must hold.
const MaxDatagram = 65535

// Packet is one datagram. For a read, Buf must have room (its capacity is used) and is
// resliced to the datagram; Local and Remote are filled in. For a write, Buf is the payload,
// Remote the destination and Local, if valid, the source address to use.
type Packet struct {
	Buf    []byte
	Local  netip.AddrPort
	Remote netip.AddrPort
}

// Conn is a UDP socket that moves datagrams in batches. ReadBatch blocks until at least one
// datagram arrives and returns how many of pkts it filled. WriteBatch sends pkts in order and
// returns how many were sent. Close unblocks a ReadBatch in progress, which then returns
// net.ErrClosed. One goroutine may read while others write.
type Conn interface {
	ReadBatch(pkts []Packet) (int, error)
	WriteBatch(pkts []Packet) (int, error)
	LocalAddr() netip.AddrPort
	Close() error
}

// udpConn is a Conn on an IPv4 UDP socket.
type udpConn struct {
	uc    *net.UDPConn
	pc    *ipv4.PacketConn
	local netip.AddrPort
	port  uint16

	rmsgs []ipv4.Message // reused by the single reader
	wpool sync.Pool      // of *writeScratch, so concurrent writers allocate nothing
	oobs  sync.Map       // netip.Addr → its IP_PKTINFO control message; read-only once stored

	// gro says the socket takes UDP GRO (EnableGRO): reads go through gbufs, and the
	// datagrams of a message that did not fit the caller's batch wait in pending.
	gro     bool
	gbufs   [][]byte
	pending []groSegment
	next    int

	// gso says the kernel takes UDP_SEGMENT (UDP GSO): runs of datagrams to one peer go down
	// the stack as one, cut into datagrams at the end. Cleared if the kernel refuses it.
	gso atomic.Bool
}

// writeScratch is one WriteBatch call's message headers.
type writeScratch struct {
	msgs  []ipv4.Message
	addrs []net.UDPAddr
	oob   []byte // control messages of msgs, UDP_SEGMENT and IP_PKTINFO
	count []int  // the number of pkts each message carries
}

// UDP GSO limits (Linux: UDP_MAX_SEGMENTS, and one IP datagram's worth of payload).
const (
	maxGSOSegments = 64
	maxGSOBytes    = 65000
)

var _ Conn = (*udpConn)(nil)

// Listen opens a UDP socket on addr (host:port; an empty host is every IPv4 address) for
// batched I/O. batch is the most datagrams one call moves.
func Listen(addr string, batch int) (Conn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", addr, err)
	}
	uc, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", addr, err)
	}
	// Big buffers: a burst of handshakes or a batch of ESP must not overflow the socket.
	uc.SetReadBuffer(4 << 20)
	uc.SetWriteBuffer(4 << 20)
	pc := ipv4.NewPacketConn(uc)
	if err := pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		uc.Close()
		return nil, fmt.Errorf("netio: listen %s: IP_PKTINFO: %w", addr, err)
	}
	la := uc.LocalAddr().(*net.UDPAddr).AddrPort()
	c := &udpConn{uc: uc, pc: pc, local: la, port: la.Port()}
	c.gso.Store(gsoSupported(uc))
	c.rmsgs = make([]ipv4.Message, batch)
	for i := range c.rmsgs {
		c.rmsgs[i].Buffers = make([][]byte, 1)
		c.rmsgs[i].OOB = append(ipv4.NewControlMessage(ipv4.FlagDst|ipv4.FlagInterface), make([]byte, unix.CmsgSpace(4))...)
	}
	return c, nil
}

func (c *udpConn) LocalAddr() netip.AddrPort { return c.local }

func (c *udpConn) Close() error { return c.uc.Close() }

// ReadBatch implements Conn. It must not be called concurrently with itself. With UDP GRO
// the kernel hands over runs of datagrams from one peer as one; they are cut apart here and
// copied into pkts, and what does not fit waits for the next call.
func (c *udpConn) ReadBatch(pkts []Packet) (int, error) {
	if c.gro {
		return c.readGRO(pkts)
	}
	msgs := c.rmsgs[:min(len(pkts), len(c.rmsgs))]
	for i := range msgs {
		msgs[i].Buffers[0] = pkts[i].Buf[:cap(pkts[i].Buf)]
		msgs[i].OOB = msgs[i].OOB[:cap(msgs[i].OOB)]
	}
	n, err := c.pc.ReadBatch(msgs, 0)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		m := &msgs[i]
		pkts[i].Buf = pkts[i].Buf[:m.N]
		pkts[i].Remote, pkts[i].Local, _ = c.addrs(m)
	}
	return n, nil
}

// addrs returns the peer and local address of a received message, and the size of the
// datagrams a GRO message holds (0 if it is one datagram).
func (c *udpConn) addrs(m *ipv4.Message) (remote, local netip.AddrPort, segment int) {
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	local = c.local
	oob := m.OOB[:m.NN]
	for len(oob) >= unix.CmsgSpace(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		hl := int(h.Len)
		if hl < unix.CmsgLen(0) || hl > len(oob) {
			break
		}
		data := oob[unix.CmsgLen(0):hl]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			info := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			local = netip.AddrPortFrom(netip.AddrFrom4(info.Addr), c.port)
		case h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO && len(data) >= 4:
			segment = int(*(*int32)(unsafe.Pointer(&data[0]))) // an int, in host order
		}
		next := unix.CmsgSpace(hl - unix.CmsgLen(0))
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return remote, local, segment
}

// groSegment is a datagram of a GRO message not yet returned.
type groSegment struct {
	buf           []byte
	remote, local netip.AddrPort
}

// readGRO is ReadBatch on a socket with UDP GRO.
func (c *udpConn) readGRO(pkts []Packet) (int, error) {
	if len(c.pending) == 0 {
		msgs := c.rmsgs
		for i := range msgs {
			msgs[i].Buffers[0] = c.gbufs[i]
			msgs[i].OOB = msgs[i].OOB[:cap(msgs[i].OOB)]
		}
		n, err := c.pc.ReadBatch(msgs, 0)
		if err != nil {
			return 0, err
		}
		c.pending, c.next = c.pending[:0], 0
		for i := range n {
			m := &msgs[i]
			remote, local, seg := c.addrs(m)
			b := c.gbufs[i][:m.N]
			if seg <= 0 {
				seg = len(b)
			}
			for off := 0; off < len(b); off += seg {
				c.pending = append(c.pending, groSegment{b[off:min(off+seg, len(b))], remote, local})
			}
		}
	}
	n := 0
	for n < len(pkts) && c.next < len(c.pending) {
		g := &c.pending[c.next]
		pkts[n].Buf = append(pkts[n].Buf[:0], g.buf...)
		pkts[n].Remote, pkts[n].Local = g.remote, g.local
		n++
		c.next++
	}
	if c.next == len(c.pending) {
		c.pending, c.next = c.pending[:0], 0
	}
	return n, nil
}

// WriteBatch implements Conn. Writers may call it concurrently; it allocates nothing once
// its scratch has grown to the batch size. With UDP GSO, consecutive datagrams to the same
// peer from the same address and of the same size (the last may be shorter) leave in one
// message, which the kernel cuts into datagrams after routing.
func (c *udpConn) WriteBatch(pkts []Packet) (int, error) {
	ws, _ := c.wpool.Get().(*writeScratch)
	if ws == nil {
		ws = new(writeScratch)
	}
	defer c.wpool.Put(ws)
	sent := 0
	for sent < len(pkts) {
		gso := c.gso.Load()
		msgs := c.messages(ws, pkts[sent:], gso)
		n, err := c.send(msgs)
		for _, k := range ws.count[:n] {
			sent += k
		}
		if err != nil {
			if gso && errors.Is(err, syscall.EIO) {
				// The path cannot segment (no checksum offload): without GSO from now on.
				c.gso.Store(false)
				continue
			}
			return sent, err
		}
	}
	return sent, nil
}

// send writes msgs, retrying what EAGAIN/EINTR interrupted; it returns how many were sent.
func (c *udpConn) send(msgs []ipv4.Message) (int, error) {
	sent := 0
	for sent < len(msgs) {
		n, err := c.pc.WriteBatch(msgs[sent:], 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			return sent, err
		}
		sent += n
	}
	return sent, nil
}

// messages builds the message headers for pkts in ws; ws.count[i] is how many packets
// message i carries.
func (c *udpConn) messages(ws *writeScratch, pkts []Packet, gso bool) []ipv4.Message {
	wildcard := !c.local.Addr().IsValid() || c.local.Addr().IsUnspecified()
	ws.count, ws.oob = ws.count[:0], ws.oob[:0]
	m := 0 // messages built; ws.msgs and ws.addrs keep every header ever allocated
	// Control messages are appended to one slab; the messages' OOB slices are cut from it at
	// the end, once it no longer moves.
	type span struct{ from, to int }
	var spansBuf [64]span
	spans := spansBuf[:0]
	for i := 0; i < len(pkts); {
		p := &pkts[i]
		j := i + 1
		if gso {
			size, total := len(p.Buf), len(p.Buf)
			for j < len(pkts) && j-i < maxGSOSegments {
				q := &pkts[j]
				if q.Remote != p.Remote || q.Local != p.Local || len(q.Buf) > size || len(q.Buf) == 0 ||
					total+len(q.Buf) > maxGSOBytes || len(pkts[j-1].Buf) != size {
					break
				}
				total += len(q.Buf)
				j++
			}
		}
		if m == len(ws.msgs) {
			ws.msgs = append(ws.msgs, ipv4.Message{})
			ws.addrs = append(ws.addrs, net.UDPAddr{IP: make(net.IP, 4)})
			for k := range ws.msgs[:m] { // the headers moved
				ws.msgs[k].Addr = &ws.addrs[k]
			}
		}
		msg, a := &ws.msgs[m], &ws.addrs[m]
		m++
		a4 := p.Remote.Addr().As4()
		a.IP = append(a.IP[:0], a4[:]...)
		a.Port = int(p.Remote.Port())
		msg.Addr = a
		msg.Buffers = msg.Buffers[:0]
		for k := i; k < j; k++ {
			msg.Buffers = append(msg.Buffers, pkts[k].Buf)
		}
		from := len(ws.oob)
		if wildcard && p.Local.IsValid() {
			// The reply leaves from the address the client sent to (IP_PKTINFO).
			ws.oob = append(ws.oob, c.pktinfo(p.Local.Addr())...)
		}
		if j-i > 1 {
			ws.oob = appendSegmentSize(ws.oob, len(p.Buf))
		}
		spans = append(spans, span{from, len(ws.oob)})
		ws.count = append(ws.count, j-i)
		i = j
	}
	for k, sp := range spans {
		ws.msgs[k].OOB = nil
		if sp.to > sp.from {
			ws.msgs[k].OOB = ws.oob[sp.from:sp.to:sp.to]
		}
	}
	return ws.msgs[:m]
}

// appendSegmentSize appends a UDP_SEGMENT control message: cut the payload into size-byte
// datagrams.
func appendSegmentSize(b []byte, size int) []byte {
	n := len(b)
	b = append(b, make([]byte, unix.CmsgSpace(2))...)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[n]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[n+unix.CmsgLen(0)])) = uint16(size)
	return b
}

// EnableGRO turns on UDP GRO for c, a Conn from Listen, if the kernel has it, and reports
// whether it did: the kernel then hands runs of datagrams from one peer up the stack as one,
// and ReadBatch cuts them apart. Call it before the first ReadBatch.
func EnableGRO(c Conn) bool {
	uc, ok := c.(*udpConn)
	if !ok {
		return false
	}
	rc, err := uc.uc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) })
	if serr != nil {
		return false
	}
	uc.gbufs = make([][]byte, len(uc.rmsgs))
	for i := range uc.gbufs {
		uc.gbufs[i] = make([]byte, MaxDatagram)
	}
	uc.gro = true
	return true
}

// gsoSupported reports whether the kernel knows UDP_SEGMENT on this socket.
func gsoSupported(uc *net.UDPConn) bool {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// pktinfo returns the control message that sends from src. There are few local addresses, so
// each is marshalled once.
func (c *udpConn) pktinfo(src netip.Addr) []byte {
	if b, ok := c.oobs.Load(src); ok {
		return b.([]byte)
	}
	a := src.As4()
	b := (&ipv4.ControlMessage{Src: net.IP(a[:])}).Marshal()
	c.oobs.Store(src, b)
	return b
}
