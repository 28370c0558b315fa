package clientconfig

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// decodePlist parses an XML property list into map[string]any, []any, string, int64,
// bool and []byte values, strictly: an unknown element, a dict key without a value or
// trailing content is an error.
func decodePlist(data []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("no <plist>: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("root element <%s>, want <plist>", se.Name.Local)
			}
			break
		}
	}
	v, end, err := plistValue(d)
	if err != nil {
		return nil, err
	}
	if end {
		return nil, errors.New("empty <plist>")
	}
	if _, end, err := plistValue(d); err != nil || !end {
		return nil, fmt.Errorf("more than one value in <plist> (err %v)", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("text after </plist>")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return nil, fmt.Errorf("content after </plist>: %T", tok)
		}
	}
}

// plistValue reads the next value; end reports the end tag of the enclosing element.
func plistValue(d *xml.Decoder) (v any, end bool, err error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, false, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil, true, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, false, fmt.Errorf("stray text %q", t)
			}
		case xml.StartElement:
			v, err := plistElement(d, t.Name.Local)
			return v, false, err
		}
	}
}

func plistElement(d *xml.Decoder, name string) (any, error) {
	text := func() (string, error) {
		var s string
		err := d.DecodeElement(&s, &xml.StartElement{Name: xml.Name{Local: name}})
		return s, err
	}
	switch name {
	case "string":
		return text()
	case "integer":
		s, err := text()
		if err != nil {
			return nil, err
		}
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	case "data":
		s, err := text()
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	case "true", "false":
		if _, end, err := plistValue(d); err != nil || !end {
			return nil, fmt.Errorf("<%s> is not empty", name)
		}
		return name == "true", nil
	case "array":
		var a []any
		for {
			v, end, err := plistValue(d)
			if err != nil {
				return nil, err
			}
			if end {
				return a, nil
			}
			a = append(a, v)
		}
	case "dict":
		m := make(map[string]any)
		for {
			k, end, err := plistValue(d)
			if err != nil {
				return nil, err
			}
			if end {
				return m, nil
			}
			key, ok := k.(plistKey)
			if !ok {
				return nil, fmt.Errorf("dict entry %v without <key>", k)
			}
			v, end, err := plistValue(d)
			if err != nil || end {
				return nil, fmt.Errorf("dict key %q without a value", key)
			}
			if _, ok := v.(plistKey); ok {
				return nil, fmt.Errorf("dict key %q followed by another key", key)
			}
			if _, dup := m[string(key)]; dup {
				return nil, fmt.Errorf("dict key %q twice", key)
			}
			m[string(key)] = v
		}
	case "key":
		s, err := text()
		return plistKey(s), err
	}
	return nil, fmt.Errorf("unknown plist element <%s>", name)
}

type plistKey string

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// TestMobileconfig decodes each Apple profile and checks the keys Apple's reference
// (com.apple.vpn.managed.yaml) requires for the authentication method.
func TestMobileconfig(t *testing.T) {
	f := loadFixtures(t)
	tested := 0
	for _, tc := range goldenCases(f) {
		files, err := Generate(tc.settings)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := resolve(tc.settings)
		data, ok := files[appleFile(p)]
		if !ok {
			continue
		}
		tested++
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodePlist(data)
			if err != nil {
				t.Fatalf("not an XML property list: %v", err)
			}
			top := v.(map[string]any)
			checkPayload(t, "top level", top, "Configuration")
			payloads := map[string]map[string]any{}
			uuids := map[string]bool{top["PayloadUUID"].(string): true}
			for i, e := range top["PayloadContent"].([]any) {
				pl := e.(map[string]any)
				typ, _ := pl["PayloadType"].(string)
				checkPayload(t, fmt.Sprintf("payload %d", i), pl, typ)
				if uuids[pl["PayloadUUID"].(string)] {
					t.Errorf("payload %s: PayloadUUID not unique", typ)
				}
				uuids[pl["PayloadUUID"].(string)] = true
				payloads[typ] = pl
			}
			vpn := payloads["com.apple.vpn.managed"]
			if vpn == nil {
				t.Fatal("no com.apple.vpn.managed payload")
			}
			want(t, vpn, "VPNType", "IKEv2")
			want(t, vpn, "UserDefinedName", tc.settings.Name)
			root := payloads["com.apple.security.root"]
			if root == nil || !bytes.Equal(root["PayloadContent"].([]byte), f.root.Raw) {
				t.Error("no com.apple.security.root payload holding the server root")
			}

			ike := vpn["IKEv2"].(map[string]any)
			for _, k := range []string{"RemoteAddress", "RemoteIdentifier", "LocalIdentifier", "AuthenticationMethod"} {
				if s, _ := ike[k].(string); s == "" {
					t.Errorf("IKEv2 %s missing", k)
				}
			}
			want(t, ike, "RemoteAddress", tc.settings.Server)
			want(t, ike, "RemoteIdentifier", tc.settings.Server)
			want(t, ike, "DeadPeerDetectionRate", "Medium")
			want(t, ike, "ServerCertificateIssuerCommonName", f.root.Subject.CommonName)
			for _, k := range []string{"IKESecurityAssociationParameters", "ChildSecurityAssociationParameters"} {
				sa, ok := ike[k].(map[string]any)
				if !ok || sa["EncryptionAlgorithm"] == nil || sa["DiffieHellmanGroup"] == nil || sa["LifeTimeInMinutes"] == nil {
					t.Errorf("IKEv2 %s = %v", k, ike[k])
				}
			}
			pkcs12 := payloads["com.apple.security.pkcs12"]
			switch p.auth {
			case authCertificate:
				want(t, ike, "AuthenticationMethod", "Certificate")
				want(t, ike, "LocalIdentifier", p.user)
				want(t, ike, "ExtendedAuthEnabled", int64(0))
				want(t, ike, "CertificateType", "ECDSA256")
			case authEAPTLS:
				want(t, ike, "AuthenticationMethod", "None")
				want(t, ike, "ExtendedAuthEnabled", int64(1))
			case authEAPMSCHAPv2:
				want(t, ike, "AuthenticationMethod", "None")
				want(t, ike, "ExtendedAuthEnabled", int64(1))
				if pkcs12 != nil || ike["PayloadCertificateUUID"] != nil {
					t.Error("an EAP-MSCHAPv2 profile carries a client identity")
				}
				if p.user != "" {
					want(t, ike, "AuthName", p.user)
				}
				if _, ok := ike["AuthPassword"]; ok {
					t.Error("the profile holds a password")
				}
			}
			if p.auth.usesCert() {
				if pkcs12 == nil {
					t.Fatal("no com.apple.security.pkcs12 payload")
				}
				want(t, ike, "PayloadCertificateUUID", pkcs12["PayloadUUID"])
				if !bytes.Equal(pkcs12["PayloadContent"].([]byte), f.aliceP12) {
					t.Error("the pkcs12 payload is not the client's P12")
				}
				if _, ok := pkcs12["Password"]; ok {
					t.Error("the pkcs12 payload holds its password")
				}
			}
		})
	}
	if tested < 2 {
		t.Fatalf("only %d Apple profiles tested", tested)
	}
}

func checkPayload(t *testing.T, where string, pl map[string]any, typ string) {
	t.Helper()
	want(t, pl, "PayloadType", typ)
	want(t, pl, "PayloadVersion", int64(1))
	if id, _ := pl["PayloadIdentifier"].(string); id == "" {
		t.Errorf("%s: no PayloadIdentifier", where)
	}
	if u, _ := pl["PayloadUUID"].(string); !uuidRE.MatchString(u) {
		t.Errorf("%s: PayloadUUID %q is not a version 5 UUID", where, u)
	}
}

func want(t *testing.T, m map[string]any, key string, value any) {
	t.Helper()
	if m[key] != value {
		t.Errorf("%s = %#v, want %#v", key, m[key], value)
	}
}

// TestSswan decodes each strongSwan Android profile and checks the fields the app reads
// (VpnProfileImportActivity.parseProfile).
func TestSswan(t *testing.T) {
	f := loadFixtures(t)
	for _, tc := range goldenCases(f) {
		files, err := Generate(tc.settings)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := resolve(tc.settings)
		data, ok := files[androidFile(p)]
		if !ok {
			if p.ikev2 {
				t.Errorf("%s: no Android profile", tc.name)
			}
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var prof struct {
				UUID   string `json:"uuid"`
				Name   string `json:"name"`
				Type   string `json:"type"`
				Remote struct {
					Addr string `json:"addr"`
					ID   string `json:"id"`
					Cert string `json:"cert"`
				} `json:"remote"`
				Local *struct {
					ID    string `json:"id"`
					P12   string `json:"p12"`
					EAPID string `json:"eap_id"`
				} `json:"local"`
				IKE   string `json:"ike-proposal"`
				ESP   string `json:"esp-proposal"`
				Split *struct {
					Subnets []string `json:"subnets"`
				} `json:"split-tunneling"`
			}
			d := json.NewDecoder(bytes.NewReader(data))
			d.DisallowUnknownFields()
			if err := d.Decode(&prof); err != nil {
				t.Fatalf("not the app's JSON: %v", err)
			}
			if !uuidRE.MatchString(prof.UUID) {
				t.Errorf("uuid %q", prof.UUID)
			}
			if prof.Name != tc.settings.Name || prof.Remote.Addr != tc.settings.Server || prof.Remote.ID != tc.settings.Server {
				t.Errorf("name %q, remote %q id %q", prof.Name, prof.Remote.Addr, prof.Remote.ID)
			}
			if cert, err := base64.StdEncoding.DecodeString(prof.Remote.Cert); err != nil || !bytes.Equal(cert, f.root.Raw) {
				t.Errorf("remote.cert is not the server root (%v)", err)
			}
			wantType := map[authMethod]string{authCertificate: "ikev2-cert", authEAPTLS: "ikev2-eap-tls", authEAPMSCHAPv2: "ikev2-eap"}[p.auth]
			if prof.Type != wantType {
				t.Errorf("type %q, want %q", prof.Type, wantType)
			}
			if prof.IKE == "" || prof.ESP == "" || strings.Contains(prof.IKE, ",") || strings.Contains(prof.ESP, ",") {
				t.Errorf("proposals %q %q: the app takes exactly one each", prof.IKE, prof.ESP)
			}
			switch {
			case p.p12 != nil:
				if prof.Local == nil || prof.Local.ID != p.user {
					t.Fatalf("local = %+v, want id %q", prof.Local, p.user)
				}
				if p12, err := base64.StdEncoding.DecodeString(prof.Local.P12); err != nil || !bytes.Equal(p12, f.aliceP12) {
					t.Errorf("local.p12 is not the client's P12 (%v)", err)
				}
			case p.auth == authEAPMSCHAPv2 && p.user != "":
				if prof.Local == nil || prof.Local.EAPID != p.user {
					t.Errorf("local = %+v, want eap_id %q", prof.Local, p.user)
				}
			}
			var subnets []string
			if prof.Split != nil {
				subnets = prof.Split.Subnets
			}
			if got, want := strings.Join(subnets, ","), joinPrefixes(p.routes, ","); got != want {
				t.Errorf("split-tunneling subnets %q, want %q", got, want)
			}
		})
	}
}

// TestSwanctlConfShape checks the rules strongSwan 5.9.8's parser imposes beyond what the
// golden files show: one setting per line, balanced braces, no ';'.
func TestSwanctlConfShape(t *testing.T) {
	f := loadFixtures(t)
	for _, tc := range goldenCases(f) {
		files, err := Generate(tc.settings)
		if err != nil {
			t.Fatal(err)
		}
		conf, ok := files[swanctlConf]
		if !ok {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			depth := 0
			for i, line := range strings.Split(strings.TrimSuffix(string(conf), "\n"), "\n") {
				l := strings.TrimSpace(line)
				switch {
				case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "include "):
				case strings.HasSuffix(l, " {"):
					depth++
					if strings.ContainsAny(strings.TrimSuffix(l, " {"), "{}= ") {
						t.Errorf("line %d %q: a section line holds more than a name", i+1, l)
					}
				case l == "}":
					depth--
				case strings.Count(l, " = ") == 1 && !strings.ContainsAny(l, "{};"):
				default:
					t.Errorf("line %d %q: not one setting", i+1, l)
				}
				if depth < 0 {
					t.Fatalf("line %d: unbalanced }", i+1)
				}
			}
			if depth != 0 {
				t.Errorf("%d unclosed sections", depth)
			}
		})
	}
}

// TestZip checks that Zip is deterministic, holds exactly Generate's files and gives key
// material mode 0600.
func TestZip(t *testing.T) {
	f := loadFixtures(t)
	files, err := Generate(goldenCases(f)[0].settings)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Zip(files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Zip(files)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two Zip calls gave different bytes")
	}
	again, _ := Generate(goldenCases(f)[0].settings)
	if c, _ := Zip(again); !bytes.Equal(a, c) {
		t.Fatal("two Generate+Zip runs gave different bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, files[zf.Name]) {
			t.Errorf("%s: content differs", zf.Name)
		}
		wantMode := "-rw-r--r--"
		if slices.Contains([]string{swanctlKey, windowsP12, "Apple/p2sgw-VPN.mobileconfig", "Android/p2sgw-VPN.sswan"}, zf.Name) {
			wantMode = "-rw-------"
		}
		if got := zf.Mode().String(); got != wantMode {
			t.Errorf("%s: mode %s, want %s", zf.Name, got, wantMode)
		}
		if !zf.Modified.Equal(zipTime) {
			t.Errorf("%s: modified %v", zf.Name, zf.Modified)
		}
	}
	if want := sortedKeys(files); !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q (sorted)", names, want)
	}

	for _, bad := range []string{"../etc/passwd", "/abs", "a//b", `Windows\x.ps1`, ""} {
		if _, err := Zip(map[string][]byte{bad: nil}); !errors.Is(err, ErrPath) {
			t.Errorf("Zip(%q): err = %v, want ErrPath", bad, err)
		}
	}
}
