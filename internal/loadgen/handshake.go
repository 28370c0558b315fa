package loadgen

import (
	"context"
	"errors"
	"time"

	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/message"
)

// worker runs handshakes one after the other from one source. Its tally and timer are its own.
type worker struct {
	g     *generator
	ep    *endpoint
	t     tally
	timer *time.Timer
}

// outcome is how one handshake ended.
type outcome struct {
	ok      bool
	failure Failure
	reason  string // the key the failure is counted under
}

// handshake brings up one IKE SA with cfg:
//
//	IKE_SA_INIT { SA, KEi, Ni, N(NAT_D)… }        --> port 500
//	            <-- { N(COOKIE) }                  (under load: again with the cookie)
//	            <-- { N(INVALID_KE_PAYLOAD) }      (again with the group asked for)
//	            <-- { SA, KEr, Nr, CERTREQ… }
//	IKE_AUTH    { IDi, CERT, AUTH, CP, SA, TSi, TSr } --> port 4500, non-ESP marker
//	            <-- { IDr, CERT, AUTH, CP, SA, TSi, TSr }
//
// Each request is retransmitted after the waits in Config.Retransmit (an answer that the SA
// drops does not count as one). The latency runs from the first IKE_SA_INIT sent to the
// IKE_AUTH answer verified. On success the SA belongs to the demux from then on.
func (w *worker) handshake(ctx context.Context, cfg *ike.InitiatorConfig) outcome {
	ep := w.ep
	sa, req, err := ike.NewInitiator(cfg, ep.local, ep.gwIKE)
	if err != nil {
		return outcome{failure: FailSetup, reason: FailSetup.String()}
	}
	spi, _ := sa.SPIs()
	s := &session{sa: sa, inbox: make(chan []byte, inboxSize)}
	ep.register(spi, s)
	start := time.Now()
	o := w.exchanges(ctx, sa, s.inbox, req)
	if !o.ok {
		ep.forget(spi)
		return o
	}
	now := time.Now()
	w.t.latencies = append(w.t.latencies, now.Sub(start))
	w.t.lastDone = now
	ep.establish(spi)
	return o
}

// exchanges sends req and the requests that follow from the answers until the SA is
// established or fails.
func (w *worker) exchanges(ctx context.Context, sa *ike.SA, inbox <-chan []byte, req []byte) outcome {
	natt := false
	exchange := message.ExchangeIKESAInit.String()
	waits := w.g.cfg.Retransmit
send:
	for attempt := 0; ; attempt++ {
		if err := w.ep.sendIKE(req, natt); err != nil {
			return outcome{failure: FailSend, reason: FailSend.String()}
		}
		w.timer.Reset(waits[attempt])
		for {
			select {
			case <-ctx.Done():
				w.timer.Stop()
				return outcome{failure: FailTimeout, reason: "cancelled in " + exchange}
			case <-w.timer.C:
				if attempt+1 == len(waits) {
					return outcome{failure: FailTimeout, reason: reason(FailTimeout, exchange, nil)}
				}
				w.t.retransmits++
				continue send
			case m := <-inbox:
				next, ev, err := sa.Handle(m)
				switch {
				case ev == ike.EventEstablished:
					w.timer.Stop()
					return outcome{ok: true}
				case ev == ike.EventFailed:
					w.timer.Stop()
					f := FailRejected
					if ne := (*ike.NotifyError)(nil); errors.As(err, &ne) {
						f = FailRefused
					}
					return outcome{failure: f, reason: reason(f, exchange, err)}
				case next == nil:
					continue // dropped (a late duplicate, say): keep waiting
				}
				w.timer.Stop()
				if sa.State() == ike.StateInitSent {
					w.countRestart(m)
				} else {
					natt, exchange = true, message.ExchangeIKEAuth.String()
				}
				req = next
				attempt = -1
				continue send
			}
		}
	}
}

// countRestart counts why the gateway had us send IKE_SA_INIT again.
func (w *worker) countRestart(answer []byte) {
	m, err := message.Decode(answer)
	switch {
	case err != nil:
	case m.Payloads.Notify(message.NotifyCookie) != nil:
		w.t.cookies++
	case m.Payloads.Notify(message.NotifyInvalidKEPayload) != nil:
		w.t.invalidKE++
	}
}
