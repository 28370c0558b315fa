package clientconfig

// The one set of algorithms each kind of client is told to use. Every one lies inside the
// gateway's default proposals (ike/transform/defaults.go, docs/configuration.md "IKEv2
// proposals") without legacy_windows_proposals; proposals_test.go checks that with the
// gateway's own transform.Select.

// strongSwan (swanctl, NetworkManager, the Android app). IKE: AES-GCM-256 with
// PRF-HMAC-SHA2-256 and ECP-256 (the gateway's IKE proposal 1: a small key exchange, no
// INVALID_KE round trip), then AES-CBC-256/SHA2-256/MODP-2048 (proposal 2) where a
// profile may list two. ESP: AES-GCM-256 (ESP proposal 1), then AES-CBC-256/SHA2-256
// (proposal 2). ESP lists no DH group: CHILD SAs rekey without PFS, which the gateway
// accepts.
const (
	strongSwanIKE         = "aes256gcm16-prfsha256-ecp256"
	strongSwanIKEFallback = "aes256-sha256-modp2048"
	strongSwanESP         = "aes256gcm16"
	strongSwanESPFallback = "aes256-sha256"
)

// appleSA is one of Apple's IKEv2 SecurityAssociationParameters dictionaries: an Apple
// profile holds exactly one proposal for the IKE SA and one for the CHILD SAs.
type appleSA struct {
	Encryption string // EncryptionAlgorithm
	Integrity  string // IntegrityAlgorithm; the PRF with an AEAD cipher; "" leaves it out
	DHGroup    int    // DiffieHellmanGroup
	Lifetime   int    // LifeTimeInMinutes, 10 to 1440
}

// Apple: AES-256-GCM with SHA2-256 and group 19 (ECP-256) for IKE — the gateway's IKE
// proposal 1, the set hwdsl2/setup-ipsec-vpn ships to Apple devices — and AES-256-GCM for
// ESP (proposal 1). EnablePFS stays 0, so the CHILD group is used only if a user turns
// PFS on; it is the IKE group, which the gateway accepts for PFS. The CHILD lifetime
// matches the gateway's default child_lifetime (3 h); the IKE one is Apple's default.
var (
	appleIKE   = appleSA{Encryption: "AES-256-GCM", Integrity: "SHA2-256", DHGroup: 19, Lifetime: 1440}
	appleChild = appleSA{Encryption: "AES-256-GCM", DHGroup: 19, Lifetime: 180}
)

// windowsPolicy is the custom IPsec policy the Windows script sets with
// Set-VpnConnectionIPsecConfiguration; it replaces Windows' defaults (MODP-1024, ESP with
// SHA-1), which the gateway refuses. IKE: AES-CBC-256, SHA-256 (integrity and PRF),
// MODP-2048 — the gateway's IKE proposal 2 and the docs' Windows row; ESP: AES-GCM-256
// (ESP proposal 1), no PFS.
var windowsPolicy = struct {
	AuthenticationTransform string // -AuthenticationTransformConstants (ESP integrity)
	CipherTransform         string // -CipherTransformConstants (ESP cipher)
	Encryption              string // -EncryptionMethod (IKE cipher)
	Integrity               string // -IntegrityCheckMethod (IKE integrity and PRF)
	DHGroup                 string // -DHGroup (IKE key exchange)
	PFSGroup                string // -PfsGroup (CHILD SA key exchange)
}{"GCMAES256", "GCMAES256", "AES256", "SHA256", "Group14", "None"}
