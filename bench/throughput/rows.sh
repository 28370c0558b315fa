# rows.sh: one function per row of bench/throughput/run.sh. Sourced, not run.
#
# row_<id> brings up its path between $NS_C and $NS_VNET's host on a fresh topology, with
# its files in $ROWDIR, and returns non-zero with a logged reason if it cannot. The driver
# then measures, stops every process and removes the topology. Every tunnel gives the
# client an address from 100.64.0.0/24 and routes 198.19.0.0/16 through it; the gateway
# routes the pool back into the tunnel, so the VNet host's default route suffices.

# Row table: id, label, what was measured (cipher, transport). The versions come from
# versions() in run.sh.
ROW_IDS=(a b c d e f)
declare -A ROW_NAME=(
	[a]=plain [b]=wireguard-go [c]=strongswan [d]=openvpn [e]=p2sgw-sstp [f]=p2sgw-ikev2
)
declare -A ROW_LABEL=(
	[a]="no tunnel (routed through the gateway namespace)"
	[b]="wireguard-go pair"
	[c]="strongSwan kernel-libipsec pair"
	[d]="OpenVPN 2.6 pair (UDP, DCO off)"
	[e]="p2sgw SSTP + own SSTP client (EAP-TLS)"
	[f]="p2sgw IKEv2 + p2sgw connect"
)
declare -A ROW_CIPHER=(
	[a]="-"
	[b]="ChaCha20-Poly1305, UDP"
	[c]="ESP AES-GCM-128 in UDP 4500; IKE aes128gcm16-prfsha256-ecp256"
	[d]="AES-128-GCM, UDP, tun"
	[e]="TLS 1.3 TLS_AES_128_GCM_SHA256 (Go crypto/tls both ends), TCP 443"
	[f]="ESP in UDP 4500, as p2sgw connect negotiates (see meta)"
)

# --- a: no tunnel ------------------------------------------------------------------------

row_a() {
	ip -n "$NS_C" route add "$VNET_PREFIX" via "$GW_ADDR"
}

# --- b: wireguard-go pair -------------------------------------------------------------------

# wireguard-go's UAPI socket is /var/run/wireguard/<ifname>.sock, a path every namespace
# shares: the interface names carry this run's PID.
WG_GW=wgb$$g
WG_C=wgb$$c

row_b() {
	local d=$ROWDIR/wg
	mkdir -p "$d"
	(umask 077; wg genkey >"$d/gw.key"; wg genkey >"$d/c.key")
	wg pubkey <"$d/gw.key" >"$d/gw.pub"
	wg pubkey <"$d/c.key" >"$d/c.pub"
	start gw "$NS_GW" "$d/gw.log" env WG_PROCESS_FOREGROUND=1 "$WG_BIN" -f "$WG_GW"
	start client "$NS_C" "$d/c.log" env WG_PROCESS_FOREGROUND=1 "$WG_BIN" -f "$WG_C"
	wait_for 10 "wireguard-go UAPI sockets" test -S "/var/run/wireguard/$WG_GW.sock" -a -S "/var/run/wireguard/$WG_C.sock" || return 1
	nsx "$NS_GW" wg set "$WG_GW" listen-port 51820 private-key "$d/gw.key" \
		peer "$(cat "$d/c.pub")" allowed-ips 100.64.0.2/32 || return 1
	ip -n "$NS_GW" addr add 100.64.0.1/24 dev "$WG_GW"
	ip -n "$NS_GW" link set "$WG_GW" up
	nsx "$NS_C" wg set "$WG_C" private-key "$d/c.key" \
		peer "$(cat "$d/gw.pub")" endpoint "$GW_ADDR:51820" allowed-ips "100.64.0.1/32,$VNET_PREFIX" || return 1
	ip -n "$NS_C" addr add 100.64.0.2/32 dev "$WG_C"
	ip -n "$NS_C" link set "$WG_C" up
	ip -n "$NS_C" route add "$VNET_PREFIX" dev "$WG_C" src 100.64.0.2
	nsx "$NS_C" wg show "$WG_C" >"$d/wg-show.txt" 2>&1
}

# --- c: strongSwan kernel-libipsec pair ---------------------------------------------------

# The plugins charon loads, by name (5.9.8 needs kdf when they are listed): no resolve
# plugin, so nothing writes /etc/resolv.conf.
SWAN_PLUGINS="random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey aes sha1 sha2 hmac gcm kdf curve25519 kernel-libipsec kernel-netlink socket-default vici"

swan_certs() {
	local d=$1
	mkdir -p "$d/ca"
	pki --gen --type ecdsa --size 256 --outform pem >"$d/ca/ca.key" 2>/dev/null
	pki --self --ca --lifetime 30 --in "$d/ca/ca.key" --type ecdsa --dn "C=XX, O=p2sgw bench, CN=bench CA" --outform pem >"$d/ca/ca.crt" 2>/dev/null
	local who san flag
	for who in gw c; do
		if [ "$who" = gw ]; then
			san=gw.bench.example flag=serverAuth
		else
			san=client.bench.example flag=clientAuth
		fi
		mkdir -p "$d/$who/x509" "$d/$who/x509ca" "$d/$who/private"
		cp "$d/ca/ca.crt" "$d/$who/x509ca/ca.crt"
		pki --gen --type ecdsa --size 256 --outform pem >"$d/$who/private/key.pem" 2>/dev/null
		pki --pub --in "$d/$who/private/key.pem" --type ecdsa 2>/dev/null |
			pki --issue --cacert "$d/ca/ca.crt" --cakey "$d/ca/ca.key" --lifetime 30 --dn "C=XX, O=p2sgw bench, CN=$san" \
				--san "$san" --flag "$flag" --outform pem >"$d/$who/x509/cert.pem" 2>/dev/null || return 1
	done
}

# swan_conf DIR writes DIR/strongswan.conf: a charon of its own, vici socket and log in DIR.
swan_conf() {
	cat >"$1/strongswan.conf" <<EOF
charon-systemd {
	load_modular = no
	load = $SWAN_PLUGINS
	install_routes = yes
	install_virtual_ip = yes
	journal {
		default = -1
	}
	filelog {
		charon {
			path = $1/charon.log
			default = 1
			ike = 1
			time_format = %T
			flush_line = yes
		}
	}
	plugins {
		vici {
			socket = unix://$1/charon.vici
		}
		kernel-libipsec {
			load = yes
		}
	}
}
EOF
}

swanctl_in() {
	local ns=$1 d=$2; shift 2
	nsx "$ns" env STRONGSWAN_CONF="$d/strongswan.conf" swanctl "$@" --uri "unix://$d/charon.vici"
}

row_c() {
	local d=$ROWDIR/swan
	swan_certs "$d" || { log "pki failed"; return 1; }
	swan_conf "$d/gw"
	swan_conf "$d/c"
	cat >"$d/gw/swanctl.conf" <<EOF
connections {
	rw {
		version = 2
		local_addrs = $GW_ADDR
		proposals = aes128gcm16-prfsha256-ecp256
		pools = rwpool
		unique = never
		local {
			auth = pubkey
			certs = cert.pem
			id = gw.bench.example
		}
		remote {
			auth = pubkey
			cacerts = ca.crt
		}
		children {
			net {
				local_ts = $VNET_PREFIX
				esp_proposals = aes128gcm16
			}
		}
	}
}
pools {
	rwpool {
		addrs = $POOL
	}
}
EOF
	cat >"$d/c/swanctl.conf" <<EOF
connections {
	gw {
		version = 2
		remote_addrs = $GW_ADDR
		vips = 0.0.0.0
		proposals = aes128gcm16-prfsha256-ecp256
		local {
			auth = pubkey
			certs = cert.pem
			id = client.bench.example
		}
		remote {
			auth = pubkey
			id = gw.bench.example
			cacerts = ca.crt
		}
		children {
			net {
				remote_ts = $VNET_PREFIX
				esp_proposals = aes128gcm16
				start_action = none
			}
		}
	}
}
EOF
	start gw "$NS_GW" "$d/gw/stdout.log" env STRONGSWAN_CONF="$d/gw/strongswan.conf" charon-systemd
	start client "$NS_C" "$d/c/stdout.log" env STRONGSWAN_CONF="$d/c/strongswan.conf" charon-systemd
	wait_for 15 "charon's vici sockets" swan_both_up "$d" || return 1
	swanctl_in "$NS_GW" "$d/gw" --load-all --noprompt --file "$d/gw/swanctl.conf" >"$d/gw/load.txt" 2>&1 || { cat "$d/gw/load.txt" >&2; return 1; }
	swanctl_in "$NS_C" "$d/c" --load-all --noprompt --file "$d/c/swanctl.conf" >"$d/c/load.txt" 2>&1 || { cat "$d/c/load.txt" >&2; return 1; }
	swanctl_in "$NS_C" "$d/c" --initiate --ike gw --child net --timeout 20 >"$d/c/initiate.txt" 2>&1 ||
		{ tail -20 "$d/c/initiate.txt" >&2; return 1; }
	swanctl_in "$NS_C" "$d/c" --list-sas >"$d/c/list-sas.txt" 2>&1
	grep -E 'AES_GCM|TUNNEL' "$d/c/list-sas.txt" | sed 's/^ */  /' >&2
}

swan_both_up() {
	swanctl_in "$NS_GW" "$1/gw" --stats && swanctl_in "$NS_C" "$1/c" --stats
}

# --- d: OpenVPN 2.6 pair ------------------------------------------------------------------

# ovpn_cert DIR NAME EKU issues an ECDSA P-256 certificate from DIR/ca with the keyUsage
# that OpenVPN's remote-cert-tls checks.
ovpn_cert() {
	local d=$1 name=$2 eku=$3
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$name.key" \
		-out "$d/$name.csr" -subj "/CN=$name.bench.example" 2>/dev/null || return 1
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' "$eku" >"$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 30 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null
}

row_d() {
	local d=$ROWDIR/ovpn
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" \
		-subj "/CN=bench CA" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	ovpn_cert "$d" server serverAuth || return 1
	ovpn_cert "$d" client clientAuth || return 1
	cat >"$d/server.conf" <<EOF
dev ovpns
dev-type tun
proto udp
local $GW_ADDR
port 1194
topology subnet
server 100.64.0.0 255.255.255.0
push "route 198.19.0.0 255.255.0.0"
ca $d/ca.crt
cert $d/server.crt
key $d/server.key
dh none
tls-version-min 1.2
data-ciphers AES-128-GCM
disable-dco
keepalive 10 60
verb 3
EOF
	cat >"$d/client.conf" <<EOF
client
dev ovpnc
dev-type tun
proto udp
remote $GW_ADDR 1194
nobind
ca $d/ca.crt
cert $d/client.crt
key $d/client.key
remote-cert-tls server
data-ciphers AES-128-GCM
disable-dco
verb 3
EOF
	start gw "$NS_GW" "$d/server.log" openvpn --config "$d/server.conf"
	wait_for 10 "the OpenVPN server" grep -q "Initialization Sequence Completed" "$d/server.log" || { tail "$d/server.log" >&2; return 1; }
	start client "$NS_C" "$d/client.log" openvpn --config "$d/client.conf"
	wait_for 30 "the OpenVPN client" grep -q "Initialization Sequence Completed" "$d/client.log" || { tail "$d/client.log" >&2; return 1; }
	grep -E "Data Channel: cipher|Outgoing Data Channel|DCO" "$d/client.log" | sed 's/^/  /' >&2
}

# --- e, f: p2sgw ----------------------------------------------------------------------------

P2SGW_NAME=vpn.bench.example

# p2sgw_gateway TUNNEL_TYPE sets up and starts `p2sgw serve` in the gateway namespace with
# a Custom SKU (no throughput limit), uploads a client root and issues a client
# certificate; its files are in $ROWDIR/p2sgw.
p2sgw_gateway() {
	local d=$ROWDIR/p2sgw
	mkdir -p "$d"
	"$P2SGW" init --dir "$d/etc" --name bench --public-address "$P2SGW_NAME" --pool "$POOL" \
		--vnet "$VNET_PREFIX" --state-dir "$d/state" --socket "$d/control.sock" \
		--tunnel-types "$1" --sku Custom --max-connections 100 >"$d/init.txt" 2>&1 || { cat "$d/init.txt" >&2; return 1; }
	start gw "$NS_GW" "$d/serve.log" "$P2SGW" serve --config "$d/etc/gateway.yaml"
	wait_for 15 "p2sgw serve's admin socket" "$P2SGW" status --socket "$d/control.sock" ||
		{ tail -20 "$d/serve.log" >&2; return 1; }
	"$P2SGW" pki create-root --cn BenchRoot --out "$d/client-root" >/dev/null &&
		"$P2SGW" root-cert add --socket "$d/control.sock" --name BenchRoot --file "$d/client-root/root.cer" >/dev/null &&
		"$P2SGW" pki issue-client --root "$d/client-root" --cn bench@example.com --key ecdsa-p256 \
			--out "$d/client" --p12-password bench >/dev/null || return 1
	"$P2SGW" status --socket "$d/control.sock" >"$d/status.txt" 2>&1
}

p2sgw_connections() {
	"$P2SGW" connections list --socket "$ROWDIR/p2sgw/control.sock" --json >"$ROWDIR/p2sgw/connections.json" 2>&1
}

row_e() {
	local d=$ROWDIR/p2sgw
	p2sgw_gateway sstp || return 1
	start client "$NS_C" "$d/sstpclient.log" "$SSTPCLIENT" --server "$GW_ADDR:443" --server-name "$P2SGW_NAME" \
		--server-root "$d/etc/pki/server-root.crt" --cert "$d/client/client.crt" --key "$d/client/client.key" \
		--tun sstp0 --route "$VNET_PREFIX"
	wait_for 30 "the SSTP tunnel" grep -q "connected as" "$d/sstpclient.log" ||
		{ tail "$d/sstpclient.log" "$d/serve.log" >&2; return 1; }
	p2sgw_connections
}

# p2sgw_has_connect says whether this p2sgw build has `p2sgw connect` (being written
# alongside this benchmark).
p2sgw_has_connect() {
	# Not `help | grep -q`: grep leaving at the first match makes help die of SIGPIPE, and
	# pipefail then reports no match.
	local help
	help=$("$P2SGW" help 2>&1)
	grep -Eq '^[[:space:]]+connect[[:space:]]' <<<"$help"
}

IKE_TUN=ike0

row_f() {
	local d=$ROWDIR/p2sgw
	if ! p2sgw_has_connect; then
		SKIP_REASON="pending: this p2sgw build has no 'p2sgw connect' yet ($P2SGW help lists none)"
		return 2
	fi
	p2sgw_gateway ikev2 || return 1
	start client "$NS_C" "$d/connect.log" "$P2SGW" connect --server "$GW_ADDR" --server-name "$P2SGW_NAME" \
		--server-root "$d/etc/pki/server-root.crt" --cert "$d/client/client.crt" --key "$d/client/client.key" \
		--tun "$IKE_TUN"
	wait_for 30 "p2sgw connect --status" nsx "$NS_C" "$P2SGW" connect --status --tun "$IKE_TUN" ||
		{ tail "$d/connect.log" "$d/serve.log" >&2; return 1; }
	nsx "$NS_C" "$P2SGW" connect --status --tun "$IKE_TUN" --json >"$d/connect-status.json" 2>&1
	p2sgw_connections
	# The gateway logs the negotiated suites: ike=IKE:… esp=ESP:….
	local suites
	suites=$(sed -n 's/.*msg="client connected".* ike=IKE:\([^ ]*\) esp=ESP:\([^ ]*\).*/ESP \2 in UDP 4500; IKE \1/p' "$d/serve.log" | head -1)
	[ -n "$suites" ] && echo "cipher=$suites" >>"$ROWDIR/meta"
	log "  negotiated: ${suites:-? (not in the gateway log)}"
}
