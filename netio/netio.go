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
		c.rmsgs[i].OOB = ipv4.NewControlMessage(ipv4.FlagDst | ipv4.FlagInterface)
	}
	return c, nil
}

func (c *udpConn) LocalAddr() netip.AddrPort { return c.local }

func (c *udpConn) Close() error { return c.uc.Close() }

// ReadBatch implements Conn. It must not be called concurrently with itself.
func (c *udpConn) ReadBatch(pkts []Packet) (int, error) {
	msgs := c.rmsgs[:min(len(pkts), len(c.rmsgs))]
	for i := range msgs {
		msgs[i].Buffers[0] = pkts[i].Buf[:cap(pkts[i].Buf)]
		msgs[i].OOB = msgs[i].OOB[:cap(msgs[i].OOB)]
	}
	n, err := c.pc.ReadBatch(msgs, 0)
	if err != nil {
		return 0, err
	}
	var cm ipv4.ControlMessage
	for i := 0; i < n; i++ {
		m := &msgs[i]
		pkts[i].Buf = pkts[i].Buf[:m.N]
		if ua, ok := m.Addr.(*net.UDPAddr); ok {
			pkts[i].Remote = ua.AddrPort()
			pkts[i].Remote = netip.AddrPortFrom(pkts[i].Remote.Addr().Unmap(), pkts[i].Remote.Port())
		}
		pkts[i].Local = c.local
		if cm.Parse(m.OOB[:m.NN]) == nil && cm.Dst != nil {
			if a, ok := netip.AddrFromSlice(cm.Dst.To4()); ok {
				pkts[i].Local = netip.AddrPortFrom(a, c.port)
			}
		}
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
