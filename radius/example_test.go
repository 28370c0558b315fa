package radius_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/p2sgw/p2sgw/radius"
)

// A client's EAP authentication relayed to RADIUS, then its session accounted. relay stands
// for the IKE or SSTP side: it hands the EAP packet from the RADIUS server to the client and
// returns the client's next EAP packet.
func Example() {
	c, err := radius.New(radius.Config{
		Servers: []radius.Server{
			{Address: "10.1.0.4:1812", AcctAddress: "10.1.0.4:1813", Secret: []byte("a long random secret"), Priority: 1},
			{Address: "10.1.0.5:1812", AcctAddress: "10.1.0.5:1813", Secret: []byte("another one"), Priority: 2},
		},
		NASIdentifier: "p2sgw-eastus-1",
		Retries:       2,
	})
	if err != nil {
		slog.Error("RADIUS", "err", err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	}()

	ctx := context.Background()
	identity := []byte{2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'} // EAP-Response/Identity
	cv := c.NewConversation()
	eap := identity
	for {
		resp, err := cv.Exchange(ctx, radius.Request{UserName: "alice", EAPMessage: eap, CallingStationID: "198.18.1.1"})
		if err != nil {
			slog.Warn("RADIUS authentication failed", "err", err)
			return
		}
		if resp.Code != radius.CodeAccessChallenge {
			if resp.Code == radius.CodeAccessAccept && len(resp.MSK) == 64 {
				c.Account(radius.Record{Status: radius.AcctStart, SessionID: "IKEv2_1D2C", UserName: "alice",
					FramedIP: resp.FramedIP, CallingStationID: "198.18.1.1", Class: resp.Class})
			}
			return
		}
		eap = relay(resp.EAPMessage)
	}
}

func relay(fromServer []byte) []byte { return nil }
