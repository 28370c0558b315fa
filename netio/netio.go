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
	"syscall"

	"golang.org/x/net/ipv4"
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
}

// writeScratch is one WriteBatch call's message headers.
type writeScratch struct {
	msgs  []ipv4.Message
	addrs []net.UDPAddr
}

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
// its scratch headers have grown to the batch size.
func (c *udpConn) WriteBatch(pkts []Packet) (int, error) {
	ws, _ := c.wpool.Get().(*writeScratch)
	if ws == nil {
		ws = new(writeScratch)
	}
	defer c.wpool.Put(ws)
	for len(ws.msgs) < len(pkts) {
		ws.msgs = append(ws.msgs, ipv4.Message{Buffers: make([][]byte, 1)})
		ws.addrs = append(ws.addrs, net.UDPAddr{IP: make(net.IP, 4)})
	}
	wildcard := !c.local.Addr().IsValid() || c.local.Addr().IsUnspecified()
	msgs := ws.msgs[:len(pkts)]
	for i := range pkts {
		p := &pkts[i]
		a := &ws.addrs[i]
		a4 := p.Remote.Addr().As4()
		a.IP = append(a.IP[:0], a4[:]...)
		a.Port = int(p.Remote.Port())
		msgs[i].Buffers[0] = p.Buf
		msgs[i].Addr = a
		msgs[i].OOB = nil
		if wildcard && p.Local.IsValid() {
			// The reply leaves from the address the client sent to (IP_PKTINFO).
			msgs[i].OOB = c.pktinfo(p.Local.Addr())
		}
	}
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
