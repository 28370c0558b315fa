package clientconfig

import (
	"fmt"
	"strings"
)

// readme renders README.txt: what the package is for, then one section per kind of device
// whose files are in files, with the exact steps.
func readme(p *profile, files map[string][]byte) []byte {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("VPN client configuration: %s", p.name)
	w("")
	readmeSummary(p, w)
	readmeIndex(p, files, w)
	if _, ok := files[windowsScript]; ok {
		readmeWindows(p, files, w)
	}
	if _, ok := files[appleFile(p)]; ok {
		readmeApple(p, w)
	}
	if _, ok := files[androidFile(p)]; ok {
		readmeAndroid(p, w)
	}
	if _, ok := files[swanctlConf]; ok {
		readmeSwanctl(p, files, w)
		readmeNetworkManager(p, files, w)
	}
	return []byte(b.String())
}

func readmeSummary(p *profile, w func(string, ...any)) {
	var tunnels []string
	if p.ikev2 {
		tunnels = append(tunnels, "IKEv2")
	}
	if p.sstp {
		tunnels = append(tunnels, "SSTP")
	}
	signIn := map[authMethod]string{
		authCertificate: "client certificate",
		authEAPTLS:      "client certificate (EAP-TLS)",
		authEAPMSCHAPv2: "user name and password (EAP-MSCHAPv2)",
	}[p.auth]
	routes := "all traffic goes through the VPN"
	if len(p.routes) > 0 {
		routes = joinPrefixes(p.routes, ", ") + " (only this traffic goes through the VPN)"
	}
	w("Gateway:      %s", p.server)
	w("Tunnels:      %s", strings.Join(tunnels, ", "))
	w("Sign-in:      %s", signIn)
	if p.user != "" {
		w("User:         %s", p.user)
	}
	w("VNet routes:  %s", routes)
	if len(p.dns) > 0 {
		w("DNS servers:  %s (the gateway hands them to the device)", joinAddrs(p.dns, ", "))
	}
	w("Server root:  Generic/VpnServerRoot.cer (%s): the gateway's certificate chains to it", p.root.Subject.CommonName)
	w("")
	if p.p12 != nil {
		w("The client certificate is protected by a password that is not in this package: you")
		w("get it separately from whoever gave you the package, and type it when asked.")
		w("")
	}
	if p.auth == authEAPMSCHAPv2 {
		w("Your password is never in this package: each device asks for it (Linux with swanctl")
		w("reads it from a file you write, see below).")
		w("")
	}
}

func readmeIndex(p *profile, files map[string][]byte, w func(string, ...any)) {
	w("Which file for which device")
	row := func(device, file string) {
		if _, ok := files[strings.TrimSuffix(file, "/")]; ok || strings.HasSuffix(file, "/") {
			w("  %-22s %s", device, file)
		}
	}
	row("Windows 10/11", windowsScript)
	row("macOS, iOS, iPadOS", appleFile(p))
	row("Android (strongSwan)", androidFile(p))
	if _, ok := files[swanctlConf]; ok {
		row("Linux (swanctl)", "Linux/swanctl/")
		row("Linux (NetworkManager)", nmFile(p))
	}
	row("Anything else", genericSettingsFile)
	w("  %-22s %s (DER), %s (PEM)", "", genericRootCER, genericRootPEM)
	if p.ikev2 && p.auth.usesCert() && p.p12 == nil {
		w("")
		w("This package holds no client certificate, so there is no macOS/iOS profile: ask for a")
		w("package made for you (with your certificate), or install your certificate on the")
		w("device and set up the VPN by hand with the values above.")
	}
	w("")
}

func readmeWindows(p *profile, files map[string][]byte, w func(string, ...any)) {
	w("Windows 10/11")
	if p.ikev2 {
		w("  1. Unzip the package and open PowerShell as administrator (right-click > Run as")
		w("     administrator: IKEv2 needs the server root among the computer's trusted roots);")
		w("     go to the unzipped folder (cd).")
	} else {
		w("  1. Unzip the package, open PowerShell and go to the unzipped folder (cd).")
	}
	w("  2. Run:")
	w("       powershell -ExecutionPolicy Bypass -File .\\Windows\\VpnProfileSetup.ps1")
	if _, ok := files[windowsP12]; ok {
		w("     It asks for the password of the client certificate (Windows\\client.p12).")
	} else if p.auth.usesCert() {
		w("     Before connecting, import your client certificate (.p12/.pfx) into the Current User store")
		w("     (double-click it).")
	}
	w("  3. Connect: Settings > Network & internet > VPN > %s > Connect.", p.name)
	if p.auth == authEAPMSCHAPv2 {
		w("     Windows asks for your user name and password the first time.")
	}
	w("")
}

func readmeApple(p *profile, w func(string, ...any)) {
	w("macOS, iOS, iPadOS")
	w("  1. Open %s on the device (AirDrop or mail it to an iPhone or iPad;", appleFile(p))
	w("     double-click it on a Mac).")
	w("  2. iPhone/iPad: Settings > Profile Downloaded (or General > VPN & Device Management) > Install.")
	w("     Mac: System Settings > Privacy & Security > Profiles (older macOS: System Preferences >")
	w("     Profiles) > Install.")
	if p.auth.usesCert() {
		w("     Enter the password of the client certificate when asked.")
	}
	w("  3. Connect: Settings > VPN (Mac: System Settings > VPN) > %s.", p.name)
	if p.auth == authEAPMSCHAPv2 {
		w("     The device asks for your password (and user name) when connecting.")
	}
	w("")
}

func readmeAndroid(p *profile, w func(string, ...any)) {
	w("Android")
	w("  1. Install the strongSwan VPN Client app (Google Play or F-Droid).")
	w("  2. Copy %s to the phone. In the app: menu > Import VPN profile > choose the file.", androidFile(p))
	switch {
	case p.p12 != nil:
		w("     Enter the password of the client certificate when asked, then Import.")
	case p.auth.usesCert():
		w("     Choose your client certificate (install it on the phone first), then Import.")
	default:
		w("     Enter your user name and password, then Import.")
	}
	w("  3. Tap the profile to connect.")
	w("")
}

func readmeSwanctl(p *profile, files map[string][]byte, w func(string, ...any)) {
	w("Linux, strongSwan with swanctl (as root; Debian/Ubuntu package names)")
	w("  1. sudo apt install charon-systemd strongswan-swanctl libcharon-extra-plugins libcharon-extauth-plugins")
	w("  2. sudo cp -r Linux/swanctl/. %s/", etcSwanctl)
	w("     (this replaces %s/swanctl.conf: keep a copy if you have connections in it)", etcSwanctl)
	if _, ok := files[swanctlKey]; ok {
		w("     sudo chmod 600 %s/private/client.key", etcSwanctl)
	} else if p.auth.usesCert() {
		w("     Put your client certificate in %s/x509/client.pem and its key in", etcSwanctl)
		w("     %s/private/client.key (PEM, chmod 600).", etcSwanctl)
	}
	if p.auth == authEAPMSCHAPv2 {
		w("     Write your password into %s/conf.d/%s-secret.conf as the comment at the end of", etcSwanctl, p.slug)
		w("     swanctl.conf shows.")
	}
	w("  3. sudo systemctl restart strongswan   (the charon-systemd service)")
	w("     sudo swanctl --load-all")
	w("  4. Connect:    sudo swanctl --initiate --child %s", p.slug)
	w("     Disconnect: sudo swanctl --terminate --ike %s", p.slug)
	w("")
}

func readmeNetworkManager(p *profile, files map[string][]byte, w func(string, ...any)) {
	name := nmFile(p)
	w("Linux desktop, NetworkManager")
	w("  1. sudo apt install network-manager-strongswan")
	w("  2. The profile reads the certificates from %s: copy them as in step 2 above", etcSwanctl)
	w("     (the swanctl service itself is not needed).")
	w("  3. sudo install -m 600 -o root %s %s/", name, nmConnsPath)
	w("     sudo nmcli connection reload")
	if p.auth == authEAPMSCHAPv2 && p.user == "" {
		w("     sudo nmcli connection modify %s +vpn.data user=YOUR-USER-NAME", shQuote(p.name))
	}
	w("  4. Connect: nmcli --ask connection up %s   (or from the network menu)", shQuote(p.name))
	w("")
}

// shQuote is a POSIX shell single-quoted word.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
