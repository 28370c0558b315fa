# Shared by scripts/test and scripts/demo: find Go and install the Debian packages p2sgw's
# tests and demo use. Source it; it defines functions only.

# ensure_go puts Go on PATH (sudo resets PATH) or fails with what to do.
ensure_go() {
	if ! command -v go >/dev/null 2>&1; then
		for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do
			[ -x "$d/go" ] && PATH="$d:$PATH" && break
		done
	fi
	command -v go >/dev/null 2>&1 || { echo "go not found; install Go (see README.md)" >&2; return 1; }
}

# packages are the Debian packages the tests and the demo need.
packages=(
	openssl                 # pki interop: openssl verify, fingerprints, pkcs12
	iproute2                # internal/testnet: namespaces, veth, bridges
	iputils-ping            # e2e: ping through the tunnel
	charon-systemd          # internal/strongswan: strongSwan as the IKEv2 client
	strongswan-swanctl
	libcharon-extra-plugins # kernel-libipsec, eap-tls
	libcharon-extauth-plugins
	libstrongswan-standard-plugins
	libstrongswan-extra-plugins
	freeradius              # internal/freeradius: the RADIUS server, run by the tests only
	freeradius-utils        # radclient
	user-mode-linux         # internal/sstpc: sstpc + pppd in a UML guest (the host has no PPP)
	ppp                     # pppd, run inside the guest
	sstp-client             # sstpc, the SSTP client
	kmod                    # insmod of the guest's PPP modules
	nftables                # NAT for the guest in its client namespace
	curl                    # internal/sstpc: HTTP fetches through the tunnel
)

# install_packages installs the missing ones (all of them, after one apt-get update, under
# CI=true). Without root it only reports what is missing, and fails under CI.
install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ "${CI:-}" != true ] && [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== Installing: ${packages[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
		# Where systemd runs, the package starts a system-wide FreeRADIUS; the tests run their own.
		if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet freeradius 2>/dev/null; then
			systemctl disable --now freeradius >/dev/null 2>&1 || true
		fi
	elif [ ${#missing[@]} -gt 0 ]; then
		echo "missing Debian packages ${missing[*]}: run as root to install them" >&2
		[ "${CI:-}" = true ] && return 1
	fi
	return 0
}
