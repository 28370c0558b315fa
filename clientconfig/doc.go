// Package clientconfig renders the VPN client configuration package: the files a user
// needs to connect a device to the gateway, as Azure's VpnClientConfiguration.zip gives them
// (Generic/VpnSettings.xml and VpnServerRoot.cer), plus ready profiles for the native
// clients — a PowerShell script for Windows, a .mobileconfig for macOS and iOS, a .sswan
// for the strongSwan Android app, a swanctl configuration and a NetworkManager keyfile for
// Linux — and a README.txt that says which file goes where.
//
// Every profile asks for exactly what the gateway's default proposals accept
// (ike/transform/defaults.go; proposals.go holds the one table of per-client values).
//
// Output is deterministic: the same Settings give the same bytes, UUIDs included (they
// are derived from the names), so packages can be compared and golden-tested. Generate
// and Zip do no I/O and keep no state; they may be called concurrently.
//
// It is not a certificate tool (package pki issues the certificates and PKCS#12 files
// it embeds) and it never invents a secret: the only private key a package can carry is
// the Client's, and no password is ever written into it.
package clientconfig
