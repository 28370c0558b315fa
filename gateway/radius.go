package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/radius"
	"github.com/p2sgw/p2sgw/session"
)

// aaa is the gateway's RADIUS side for auth_types radius: it relays clients' EAP to the RADIUS
// servers, applies what an Access-Accept grants (Session-Timeout here; Framed-IP-Address in
// assign), and accounts for the sessions RADIUS accepted (RFC 2866: Start, Interim-Update,
// Stop with the connection id as Acct-Session-Id).
type aaa struct {
	client  *radius.Client
	log     *slog.Logger
	acct    bool
	interim time.Duration
	end     func(s *session.Session, reason string) // ends a session (Session-Timeout)

	mu       sync.Mutex // guards sessions
	sessions map[string]*accounted
	done     chan struct{}
	wg       sync.WaitGroup
}

// accounted is a RADIUS-accepted session.
type accounted struct {
	s       *session.Session
	grant   *ike.Grant
	timeout *time.Timer // Session-Timeout; nil if none
}

// newAAA builds the RADIUS client from cfg's radius section; observe, if set, gets the latency
// of every answer.
func newAAA(cfg *config.Config, log *slog.Logger, end func(*session.Session, string), observe func(server, kind string, d time.Duration)) (*aaa, error) {
	r := cfg.RADIUS
	rc, err := radiusConfig(r)
	if err != nil {
		return nil, err
	}
	rc.Log, rc.Observe = log, observe
	c, err := radius.New(rc)
	if err != nil {
		return nil, fmt.Errorf("radius: %w", err)
	}
	a := &aaa{
		client: c, log: log, acct: r.Accounting == nil || *r.Accounting, interim: r.Interim(), end: end,
		sessions: make(map[string]*accounted), done: make(chan struct{}),
	}
	if a.acct && a.interim > 0 {
		a.wg.Add(1)
		go a.interimLoop()
	}
	return a, nil
}

// radiusConfig is the RADIUS client's configuration from the radius section, with the shared
// secrets read from their files.
func radiusConfig(r *config.RADIUS) (radius.Config, error) {
	rc := radius.Config{NASIdentifier: r.NASIdentifier, Timeout: r.TimeoutDuration()}
	if r.Retries != nil {
		rc.Retries = *r.Retries
	}
	for i, s := range r.Servers {
		secret, err := s.SharedSecret()
		if err != nil {
			return radius.Config{}, fmt.Errorf("radius.servers[%d]: %w", i, err)
		}
		rc.Servers = append(rc.Servers, radius.Server{Address: s.Address, AcctAddress: s.AcctAddress, Secret: secret, Priority: s.Priority})
	}
	return rc, nil
}

// reconfigure applies a reloaded radius section: servers, NAS-Identifier, timeout and retries
// change at once; conversations under way finish where they started and queued accounting
// goes to the new servers.
func (a *aaa) reconfigure(r *config.RADIUS) error {
	rc, err := radiusConfig(r)
	if err != nil {
		return err
	}
	if err := a.client.Reconfigure(rc); err != nil {
		return fmt.Errorf("radius: %w", err)
	}
	return nil
}

// close sends what accounting is queued (the Stops of the sessions that just ended) for at
// most 5 s, and stops.
func (a *aaa) close() {
	close(a.done)
	a.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.client.Close(ctx); err != nil {
		a.log.Error("RADIUS accounting not all sent at shutdown", "err", err)
	}
}

// relay starts one IKEv2 client's EAP conversation with the RADIUS servers.
func (a *aaa) relay(user string, remote netip.AddrPort) ike.EAPRelay {
	return &eapRelay{cv: a.client.NewConversation(), user: user, remote: remote}
}

// eapRelay is ike.EAPRelay over a RADIUS conversation.
type eapRelay struct {
	cv     *radius.Conversation
	user   string
	remote netip.AddrPort
}

// relayDeadline bounds one relayed round: the client's IKE retransmissions give up after about
// half a minute, and so does Azure's RADIUS wait.
const relayDeadline = 30 * time.Second

func (r *eapRelay) Exchange(packet []byte) (ike.EAPAnswer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), relayDeadline)
	defer cancel()
	resp, err := r.cv.Exchange(ctx, radius.Request{UserName: r.user, EAPMessage: packet, CallingStationID: r.remote.Addr().String()})
	if err != nil {
		return ike.EAPAnswer{}, fmt.Errorf("RADIUS: %w", err)
	}
	switch resp.Code {
	case radius.CodeAccessChallenge:
		return ike.EAPAnswer{Verdict: ike.EAPContinue, Packet: resp.EAPMessage}, nil
	case radius.CodeAccessAccept:
		return ike.EAPAnswer{Verdict: ike.EAPAccept, Packet: resp.EAPMessage, MSK: resp.MSK, Grant: &ike.Grant{
			Server: resp.Server, Addr: resp.FramedIP, SessionTimeout: resp.SessionTimeout,
			Class: resp.Class, Messages: resp.ReplyMessage,
		}}, nil
	default:
		return ike.EAPAnswer{Verdict: ike.EAPReject, Packet: resp.EAPMessage, Reason: strings.Join(resp.ReplyMessage, " ")}, nil
	}
}

// started takes a session RADIUS accepted: its Session-Timeout starts, and accounting.
func (a *aaa) started(s *session.Session, g *ike.Grant) {
	acc := &accounted{s: s, grant: g}
	if g.SessionTimeout > 0 {
		acc.timeout = time.AfterFunc(g.SessionTimeout, func() {
			a.log.Info("session timeout: ending the session as the RADIUS server asked", "id", s.ID, "user", s.User, "session_timeout", g.SessionTimeout)
			a.end(s, "session timeout (RADIUS Session-Timeout "+g.SessionTimeout.String()+")")
		})
	}
	a.mu.Lock()
	a.sessions[s.ID] = acc
	a.mu.Unlock()
	if len(g.Messages) > 0 {
		a.log.Info("RADIUS message for the user", "id", s.ID, "user", s.User, "reply_message", strings.Join(g.Messages, " "))
	}
	if a.acct {
		a.client.Account(a.record(acc, radius.AcctStart, s.StartedAt))
	}
}

// ended sends the Stop of a RADIUS-accepted session; other sessions are ignored.
func (a *aaa) ended(id, reason string, at time.Time) {
	a.mu.Lock()
	acc := a.sessions[id]
	delete(a.sessions, id)
	a.mu.Unlock()
	if acc == nil {
		return
	}
	if acc.timeout != nil {
		acc.timeout.Stop()
	}
	if a.acct {
		rec := a.record(acc, radius.AcctStop, at)
		rec.TerminateCause = terminateCause(reason)
		a.client.Account(rec)
	}
}

// interimLoop reports every accounted session's traffic each interim interval.
func (a *aaa) interimLoop() {
	defer a.wg.Done()
	tick := time.NewTicker(a.interim)
	defer tick.Stop()
	for {
		select {
		case <-a.done:
			return
		case now := <-tick.C:
			a.mu.Lock()
			var recs []radius.Record
			for _, acc := range a.sessions {
				recs = append(recs, a.record(acc, radius.AcctInterim, now))
			}
			a.mu.Unlock()
			for _, r := range recs {
				a.client.Account(r)
			}
		}
	}
}

// record is a session's accounting record as of at.
func (a *aaa) record(acc *accounted, status radius.AcctStatus, at time.Time) radius.Record {
	s := acc.s
	rec := radius.Record{
		Status: status, SessionID: s.ID, UserName: s.User, FramedIP: s.VPNAddr,
		CallingStationID: s.PublicAddr.Addr().String(), Class: acc.grant.Class, Time: at,
	}
	if status != radius.AcctStart {
		tr := s.Traffic()
		// Input is what the NAS received from the user (RFC 2866 §5.3): the client's ingress.
		rec.InputOctets, rec.InputPackets = tr.IngressBytes, tr.IngressPackets
		rec.OutputOctets, rec.OutputPackets = tr.EgressBytes, tr.EgressPackets
		rec.SessionTime = at.Sub(s.StartedAt)
	}
	return rec
}

// terminateCause maps why a session ended to Acct-Terminate-Cause (RFC 2866 §5.10).
func terminateCause(reason string) uint32 {
	for _, c := range []struct {
		prefix string
		cause  uint32
	}{
		{"deleted by the client", radius.TerminateUserRequest},
		{"the client deleted", radius.TerminateUserRequest},
		{"dead peer", radius.TerminateLostCarrier},
		{"session timeout", radius.TerminateSessionTimeout},
		{"disconnected by admin", radius.TerminateAdminReset},
		{"gateway shutting down", radius.TerminateAdminReboot},
	} {
		if strings.HasPrefix(reason, c.prefix) {
			return c.cause
		}
	}
	return radius.TerminateNASRequest
}

// status reports each RADIUS server's health for the admin API.
func (a *aaa) status() []api.RADIUSServer {
	var out []api.RADIUSServer
	for _, s := range a.client.Status() {
		out = append(out, api.RADIUSServer{
			Address: s.Address, AcctAddress: s.AcctAddress, Priority: s.Priority, State: s.State,
			LastError: s.LastError, LastOK: s.LastOK, Requests: s.Requests, Timeouts: s.Timeouts, BadResponses: s.BadResponses,
		})
	}
	return out
}
