package transform

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"
)

// kdfSuites are, per PRF, the IKE SA suite whose keys fill a vector's DKM exactly and the
// matching ESP suite.
var kdfSuites = map[PRFID]struct{ ike, esp Suite }{
	// 20 + 2·20 + 2·16 + 2·20 = 132 octets
	PRFHMACSHA1: {
		Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA196, PRF: PRFHMACSHA1, DH: DHMODP1024},
		Suite{Protocol: ProtocolESP, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA196},
	},
	// 32 + 2·32 + 2·32 + 2·32 = 224 octets
	PRFHMACSHA256: {
		Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048},
		Suite{Protocol: ProtocolESP, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA256128},
	},
	// 64 + 2·64 + 2·32 + 2·64 = 384 octets
	PRFHMACSHA512: {
		Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA512256, PRF: PRFHMACSHA512, DH: DHECP256},
		Suite{Protocol: ProtocolESP, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA512256},
	},
}

func TestKDFVectors(t *testing.T) {
	for _, v := range readVectors(t, "testdata/ikev2_kdf.txt") {
		t.Run(v["name"], func(t *testing.T) {
			id, _ := strconv.Atoi(v["prf"])
			suites := kdfSuites[PRFID(id)]
			ni, nr := unhex(t, v["ni"]), unhex(t, v["nr"])
			gir, girNew := unhex(t, v["gir"]), unhex(t, v["girnew"])
			spiI := binary.BigEndian.Uint64(unhex(t, v["spii"]))
			spiR := binary.BigEndian.Uint64(unhex(t, v["spir"]))
			dkm := unhex(t, v["dkm"])

			// IKE_SA_INIT: SKEYSEED and the seven keys in RFC order.
			k, err := DeriveIKEKeys(suites.ike, ni, nr, gir, spiI, spiR)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "SKEYSEED", k.SKEYSEED, unhex(t, v["skeyseed"]))
			all := bytes.Join([][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKpi, k.SKpr}, nil)
			equal(t, "SK_d|SK_ai|SK_ar|SK_ei|SK_er|SK_pi|SK_pr", all, dkm)

			// prf+ by itself, the whole DKM.
			prf, _ := NewPRF(PRFID(id))
			var spis [16]byte
			binary.BigEndian.PutUint64(spis[:], spiI)
			binary.BigEndian.PutUint64(spis[8:], spiR)
			got, err := PRFPlus(prf, k.SKEYSEED, bytes.Join([][]byte{ni, nr, spis[:]}, nil), len(dkm))
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "prf+", got, dkm)

			// CHILD SA without and with PFS: KEYMAT is a prefix of the vector's DKM.
			ck, err := DeriveChildKeys(suites.esp, PRFID(id), k.SKd, nil, ni, nr)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "KEYMAT", childKeymat(ck), unhex(t, v["dkm_child"])[:len(childKeymat(ck))])
			pfs := suites.esp
			pfs.DH = DHECP256
			ck, err = DeriveChildKeys(pfs, PRFID(id), k.SKd, girNew, ni, nr)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "KEYMAT with PFS", childKeymat(ck), unhex(t, v["dkm_child_dh"])[:len(childKeymat(ck))])

			// IKE SA rekey, same PRF on both sides.
			rk, err := RekeyIKEKeys(suites.ike, PRFID(id), k.SKd, girNew, ni, nr, spiI, spiR)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "SKEYSEED (rekey)", rk.SKEYSEED, unhex(t, v["skeyseed_rekey"]))
		})
	}
}

func childKeymat(k *ChildKeys) []byte {
	var out []byte
	for _, d := range []DirectionKeys{k.InitiatorToResponder, k.ResponderToInitiator} {
		out = append(append(append(out, d.Encr...), d.Salt...), d.Integ...)
	}
	return out
}

func equal(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// TestKeySizes checks the layout of KEYMAT for AES-GCM: each encryption key is followed by its
// 4-octet salt (RFC 5282 §7.1, RFC 4106 §8.1), and AEAD suites have no integrity keys.
func TestKeySizes(t *testing.T) {
	ike := Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA384, DH: DHCurve25519}
	ni, nr, gir := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	k, err := DeriveIKEKeys(ike, ni, nr, gir, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]int{
		"SK_d": len(k.SKd), "SK_ai": len(k.SKai), "SK_ar": len(k.SKar), "SK_ei": len(k.SKei),
		"SK_er": len(k.SKer), "SK_pi": len(k.SKpi), "SK_pr": len(k.SKpr),
	} {
		want := map[string]int{"SK_d": 48, "SK_pi": 48, "SK_pr": 48, "SK_ei": 36, "SK_er": 36}[name]
		if got != want {
			t.Errorf("%s is %d octets, want %d", name, got, want)
		}
	}
	prf, _ := NewPRF(PRFHMACSHA384)
	keymat, _ := PRFPlus(prf, k.SKEYSEED, bytes.Join([][]byte{ni, nr, {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}}, nil), 48+72)
	equal(t, "SK_ei", k.SKei, keymat[48:84])
	equal(t, "SK_er", k.SKer, keymat[84:120])

	esp := Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 128}
	ck, err := DeriveChildKeys(esp, PRFHMACSHA384, k.SKd, nil, ni, nr)
	if err != nil {
		t.Fatal(err)
	}
	keymat, _ = PRFPlus(prf, k.SKd, bytes.Join([][]byte{ni, nr}, nil), 40)
	i, r := ck.InitiatorToResponder, ck.ResponderToInitiator
	equal(t, "I→R key", i.Encr, keymat[0:16])
	equal(t, "I→R salt", i.Salt, keymat[16:20])
	equal(t, "R→I key", r.Encr, keymat[20:36])
	equal(t, "R→I salt", r.Salt, keymat[36:40])
	if len(i.Integ) != 0 || len(r.Integ) != 0 {
		t.Errorf("AEAD CHILD SA has integrity keys")
	}
}

func TestDeriveErrors(t *testing.T) {
	ike := Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHECP256}
	esp := Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"IKE keys for ESP suite", errOf(DeriveIKEKeys(esp, nil, nil, nil, 0, 0)), ErrUnsupported},
		{"CHILD keys for IKE suite", errOf(DeriveChildKeys(ike, PRFHMACSHA256, nil, nil, nil, nil)), ErrUnsupported},
		{"AES-192", errOf(DeriveIKEKeys(Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 192, PRF: PRFHMACSHA256, DH: DHECP256}, nil, nil, nil, 0, 0)), ErrUnsupported},
		{"rekey with unknown old PRF", errOf(RekeyIKEKeys(ike, PRFAES128XCBC, nil, nil, nil, nil, 0, 0)), ErrUnsupported},
		{"PFS without shared secret", errOf(DeriveChildKeys(Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256, DH: DHECP256}, PRFHMACSHA256, nil, nil, nil, nil)), ErrKeyLength},
		{"shared secret without PFS", errOf(DeriveChildKeys(esp, PRFHMACSHA256, nil, []byte{1}, nil, nil)), ErrKeyLength},
		{"CHILD keys with unknown PRF", errOf(DeriveChildKeys(esp, PRFHMACMD5, nil, nil, nil, nil)), ErrUnsupported},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }
