package loadgen

import (
	"context"
	"time"
)

// trafficBurst packets are sent, then the sender pauses trafficPause: about 50,000 packets a
// second, which a gateway's socket buffer takes without loss.
const (
	trafficBurst = 500
	trafficPause = 10 * time.Millisecond
)

// traffic sends Config.Traffic echo requests through every established session and counts
// the replies.
func (g *generator) traffic() *TrafficReport {
	stop := g.report(PhaseTraffic)
	defer stop()
	type target struct {
		ep *endpoint
		f  *flow
	}
	var targets []target
	r := &TrafficReport{To: g.cfg.TrafficTo.String()}
	for _, ep := range g.eps {
		ep.each(func(_ uint64, s *session) {
			in, out, err := s.sa.Child.ESPSAs()
			if err != nil {
				r.SetupErrors++
				return
			}
			f := &flow{in: in, out: out, vpnAddr: s.sa.Lease.Addr, dst: g.cfg.TrafficTo, id: uint16(len(targets))}
			ep.flows[in.SPI()] = f
			targets = append(targets, target{ep, f})
		})
	}
	r.Sessions = len(targets)
	start := time.Now()
	sent := 0
	for seq := range g.cfg.Traffic {
		for _, t := range targets {
			pkt, err := t.f.request(uint16(seq))
			if err != nil || t.ep.write(pkt, t.ep.gwNATT) != nil {
				r.SendErrors++
				continue
			}
			r.Sent++
			if sent++; sent%trafficBurst == 0 {
				time.Sleep(trafficPause)
			}
		}
	}
	deadline := time.Now().Add(g.cfg.TrafficWait)
	for time.Now().Before(deadline) && g.ctr.espReplies.Load() < int64(r.Sent) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, t := range targets {
		n := t.f.replies.Load()
		r.Replies += n
		if n > 0 {
			r.Answered++
		}
	}
	r.Seconds = time.Since(start).Seconds()
	for _, ep := range g.eps {
		ep.mu.Lock()
		clear(ep.flows)
		ep.mu.Unlock()
	}
	return r
}

// hold keeps the sessions open for Config.Hold (or until ctx ends): the demux goroutines answer
// the gateway's liveness checks meanwhile.
func (g *generator) hold(ctx context.Context) *HoldReport {
	stop := g.report(PhaseHold)
	defer stop()
	r := &HoldReport{Start: g.established.Load()}
	before := g.ctr.liveness.Load()
	start := time.Now()
	t := time.NewTimer(g.cfg.Hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	r.Seconds = time.Since(start).Seconds()
	r.End = g.established.Load()
	r.Liveness = g.ctr.liveness.Load() - before
	r.DeletedByGateway = g.ctr.deletedByGW.Load()
	r.IKERekeys = g.ctr.ikeRekeys.Load()
	return r
}

// teardown deletes every established session, at most Config.TeardownRate a second, and waits
// a little for the gateway's answers.
func (g *generator) teardown() *TeardownReport {
	stop := g.report(PhaseTeardown)
	defer stop()
	r := &TeardownReport{}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / g.cfg.TeardownRate)
	for _, ep := range g.eps {
		var spis []uint64
		ep.each(func(spi uint64, _ *session) { spis = append(spis, spi) })
		for _, spi := range spis {
			ep.mu.Lock()
			var req []byte
			if s := ep.ike[spi]; s != nil && s.inbox == nil {
				req, _ = s.sa.Delete()
			}
			ep.mu.Unlock()
			if req == nil {
				continue
			}
			if ep.sendIKE(req, true) == nil {
				r.Sent++
			}
			if wait := time.Until(start.Add(time.Duration(r.Sent) * interval)); wait > 0 {
				time.Sleep(wait)
			}
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && g.ctr.deleteAcks.Load() < r.Sent {
		time.Sleep(20 * time.Millisecond)
	}
	r.Acknowledged = g.ctr.deleteAcks.Load()
	r.Seconds = time.Since(start).Seconds()
	return r
}
