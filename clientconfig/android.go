package clientconfig

import (
	"encoding/json"
)

// sswan is the strongSwan Android app's profile (VpnProfileImportActivity.parseProfile;
// docs.strongswan.org "Android VPN Client Profiles"). Field order is the document's.
type sswan struct {
	UUID        string      `json:"uuid"`
	Name        string      `json:"name"`
	Type        string      `json:"type"`
	Remote      sswanRemote `json:"remote"`
	Local       *sswanLocal `json:"local,omitempty"`
	IKEProposal string      `json:"ike-proposal"`
	ESPProposal string      `json:"esp-proposal"`
	Split       *sswanSplit `json:"split-tunneling,omitempty"`
}

type sswanRemote struct {
	Addr string `json:"addr"`
	ID   string `json:"id"`
	Cert []byte `json:"cert"` // the server root, DER (base64 in JSON)
}

type sswanLocal struct {
	ID    string `json:"id,omitempty"`     // certificate types: the IKE identity
	P12   []byte `json:"p12,omitempty"`    // certificate types: the identity to import
	EAPID string `json:"eap_id,omitempty"` // ikev2-eap: the user name
}

type sswanSplit struct {
	Subnets []string `json:"subnets"`
}

// addAndroid adds the .sswan profile. Without the Client's P12 a certificate profile
// still imports: the app then asks the user to pick a certificate from the Android key
// store. The P12's password is asked for by the app while importing.
func addAndroid(p *profile, files map[string][]byte) {
	prof := sswan{
		UUID:        profileUUID(p, "android"),
		Name:        p.name,
		Type:        sswanType(p.auth),
		Remote:      sswanRemote{Addr: p.server, ID: p.server, Cert: p.root.Raw},
		IKEProposal: strongSwanIKE,
		ESPProposal: strongSwanESP,
	}
	switch {
	case p.auth.usesCert() && (p.user != "" || p.p12 != nil):
		prof.Local = &sswanLocal{ID: p.user, P12: p.p12}
	case !p.auth.usesCert() && p.user != "":
		prof.Local = &sswanLocal{EAPID: p.user}
	}
	if len(p.routes) > 0 {
		prof.Split = &sswanSplit{Subnets: make([]string, len(p.routes))}
		for i, r := range p.routes {
			prof.Split.Subnets[i] = r.String()
		}
	}
	out, err := json.MarshalIndent(prof, "", "  ")
	if err != nil {
		panic(err) // only strings, byte slices and structs: cannot fail
	}
	files[androidFile(p)] = append(out, '\n')
}

func sswanType(a authMethod) string {
	switch a {
	case authEAPTLS:
		return "ikev2-eap-tls"
	case authEAPMSCHAPv2:
		return "ikev2-eap"
	}
	return "ikev2-cert"
}
