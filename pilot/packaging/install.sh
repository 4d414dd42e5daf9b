#!/bin/sh
# Installs the beam-pilot release this script sits in. It checks the release's files against its
# SHA256SUMS and Node.js (>= 20.19), puts the bundle in <prefix>/releases/<version>/ behind the
# `current` link the systemd unit runs, and writes the unit and its drop-in, the daemon unit's
# stop-timeout drop-in and the polkit rule. It downloads nothing and never overwrites a pilot config.
# Run it again from a newer release to upgrade by hand (a running pilot is restarted into it).
set -eu

usage() {
	cat <<'USAGE'
Usage: sudo sh install.sh --home DAEMON_HOME [options]

  --home DIR             the daemon home (holds config/config.toml); the pilot may write there
  --user NAME            the daemon's user, which the pilot runs as (default gaia)
  --unit NAME.service    the daemon's systemd unit (default gaiad.service)
  --stop-timeout-ms MS   the daemon's TimeoutStopSec, = the pilot's daemon.stop_timeout_ms (default 10000)
  --polkit rules|pkla    polkit rule format (default: from pkaction --version; pkla below 0.106)
  --root DIR             install below DIR instead of / (packaging, tests): nothing is started
  NODE=/path/to/node     the Node.js to run the pilot with (default: node on PATH)
USAGE
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

matches() { printf '%s\n' "$1" | grep -Eq "$2"; }

USER_NAME=gaia
UNIT=gaiad.service
DAEMON_HOME=
STOP_TIMEOUT_MS=10000
POLKIT=
ROOT=
PREFIX=/usr/local/lib/beam
CONFIG=/etc/beam/pilot.toml
STATE_DIR=/var/lib/beam-pilot

while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--home | --user | --unit | --stop-timeout-ms | --polkit | --root)
		[ $# -ge 2 ] || die "$1 needs a value (see --help)"
		case "$1" in
		--home) DAEMON_HOME=$2 ;;
		--user) USER_NAME=$2 ;;
		--unit) UNIT=$2 ;;
		--stop-timeout-ms) STOP_TIMEOUT_MS=$2 ;;
		--polkit) POLKIT=$2 ;;
		--root) ROOT=$2 ;;
		esac
		shift 2
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

# Values end up in unit files and polkit rules: only plain names and paths get there.
[ -n "$DAEMON_HOME" ] || die "--home is missing: name the daemon home, e.g. --home /home/gaia/.gaia"
matches "$DAEMON_HOME" '^/[A-Za-z0-9._/-]+$' || die "--home $DAEMON_HOME: use an absolute path of letters, digits, . _ - /"
matches "$USER_NAME" '^[a-z_][a-z0-9_-]{0,31}$' || die "--user $USER_NAME: use a user name such as gaia"
matches "$UNIT" '^[A-Za-z0-9@_.:-]+\.service$' || die "--unit $UNIT: use the daemon's unit name, e.g. gaiad.service"
matches "$STOP_TIMEOUT_MS" '^[1-9][0-9]{2,6}$' || die "--stop-timeout-ms $STOP_TIMEOUT_MS: use milliseconds from 100, e.g. 10000"
[ -z "$ROOT" ] || matches "$ROOT" '^/' || die "--root $ROOT: use an absolute path"

HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"

# 1. The release is what it says it is.
[ -f SHA256SUMS ] || die "no SHA256SUMS next to install.sh: unpack the whole release tarball"
if command -v sha256sum >/dev/null 2>&1; then
	sha256sum -c --quiet SHA256SUMS || die "the release's files do not match SHA256SUMS: download the release again"
elif command -v shasum >/dev/null 2>&1; then
	shasum -a 256 -c --quiet SHA256SUMS || die "the release's files do not match SHA256SUMS: download the release again"
else
	die "neither sha256sum nor shasum is installed: install coreutils"
fi
VERSION=$(cat VERSION)
matches "$VERSION" '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$' || die "VERSION holds no version"

# 2. Node.js >= 20.19.
node_help() {
	cat >&2 <<'HELP'
beam-pilot needs Node.js >= 20.19. On Ubuntu or Debian, either:
  - NodeSource's packages (Node.js 22 LTS):
      curl -fsSL https://deb.nodesource.com/setup_22.x -o nodesource_setup.sh
      sudo bash nodesource_setup.sh      # read it first: it adds NodeSource's apt repository
      sudo apt-get install -y nodejs
  - or the distribution's nodejs from a release that ships >= 20.19 (Debian 13 ships 20.19;
    Ubuntu 22.04 ships 12, Debian 12 and Ubuntu 24.04 ship 18: too old, use NodeSource there).
Then run this script again (NODE=/path/to/node for a node that is not on PATH).
HELP
}
NODE=${NODE:-$(command -v node || true)}
if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then
	echo "install.sh: Node.js is not installed (no node on PATH)." >&2
	node_help
	exit 1
fi
NODE_VERSION=$("$NODE" -p 'process.versions.node' 2>/dev/null) || NODE_VERSION=unknown
major=${NODE_VERSION%%.*}
minor=${NODE_VERSION#*.}
minor=${minor%%.*}
if ! matches "$major.$minor" '^[0-9]+\.[0-9]+$' || [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
	echo "install.sh: $NODE is Node.js $NODE_VERSION; beam-pilot needs >= 20.19." >&2
	node_help
	exit 1
fi

# 3. polkit: JavaScript rules from 0.106 on, .pkla files before (Ubuntu 22.04 has 0.105).
if [ -z "$POLKIT" ]; then
	command -v pkaction >/dev/null 2>&1 ||
		die "polkit is not installed: apt-get install polkitd (Ubuntu 22.04: policykit-1), or pass --polkit rules|pkla"
	pk=$(pkaction --version | awk '{ print $NF }')
	case "$pk" in
	0.*)
		pk_minor=${pk#0.}
		pk_minor=${pk_minor%%.*}
		if [ "$pk_minor" -ge 106 ]; then POLKIT=rules; else POLKIT=pkla; fi
		;;
	*) POLKIT=rules ;;
	esac
fi
case "$POLKIT" in
rules | pkla) ;;
*) die "--polkit $POLKIT: use rules (polkit >= 0.106) or pkla (0.105)" ;;
esac

GROUP=$(id -gn "$USER_NAME" 2>/dev/null) || die "no user $USER_NAME: create the daemon's user first, or pass --user"
R=$ROOT

# 4. The bundle, next to earlier releases, and the `current` link switched in one rename.
# The pilot upgrades itself: its user owns its install (it runs as that user anyway).
install -d -m 755 -o "$USER_NAME" -g "$GROUP" "$R$PREFIX" "$R$PREFIX/releases" "$R$PREFIX/releases/$VERSION"
for file in $(awk '{ print $2 }' SHA256SUMS); do
	install -m 644 -o "$USER_NAME" -g "$GROUP" "$file" "$R$PREFIX/releases/$VERSION/$file"
done
install -m 644 -o "$USER_NAME" -g "$GROUP" SHA256SUMS "$R$PREFIX/releases/$VERSION/SHA256SUMS"
ln -sfn "releases/$VERSION" "$R$PREFIX/current.new"
mv -Tf "$R$PREFIX/current.new" "$R$PREFIX/current"
chown -h "$USER_NAME:$GROUP" "$R$PREFIX/current"

# 5. systemd: the pilot's unit and drop-in, and the daemon's stop timeout.
UNIT_DIR=$R/etc/systemd/system
install -d -m 755 "$UNIT_DIR/beam-pilot.service.d" "$UNIT_DIR/$UNIT.d"
install -m 644 beam-pilot.service "$UNIT_DIR/beam-pilot.service"
cat >"$UNIT_DIR/beam-pilot.service.d/10-install.conf" <<DROPIN
# Written by install.sh ($VERSION): the pilot's user, what it may write, the node that runs it.
[Service]
User=$USER_NAME
Group=$GROUP
ReadWritePaths=
ReadWritePaths=$STATE_DIR $DAEMON_HOME $PREFIX
ExecStart=
ExecStart=$NODE $PREFIX/current/beam-pilot.mjs start --config $CONFIG
DROPIN
sed "s/@STOP_TIMEOUT_MS@/$STOP_TIMEOUT_MS/" daemon-stop-timeout.conf >"$UNIT_DIR/$UNIT.d/50-beam-stop-timeout.conf"
chmod 644 "$UNIT_DIR/beam-pilot.service.d/10-install.conf" "$UNIT_DIR/$UNIT.d/50-beam-stop-timeout.conf"

# 6. polkit: the pilot's user may start, stop, restart and kill the daemon's unit.
RULES=$R/etc/polkit-1/rules.d/50-beam-pilot.rules
PKLA=$R/etc/polkit-1/localauthority/50-local.d/50-beam-pilot.pkla
if [ "$POLKIT" = rules ]; then
	[ -d "$(dirname "$RULES")" ] || install -d -m 755 "$(dirname "$RULES")"
	sed -e "s/@USER@/$USER_NAME/g" -e "s/@UNIT@/$UNIT/g" beam-pilot.rules >"$RULES"
	chmod 644 "$RULES"
	rm -f "$PKLA"
else
	[ -d "$(dirname "$PKLA")" ] || install -d -m 755 "$(dirname "$PKLA")"
	sed -e "s/@USER@/$USER_NAME/g" beam-pilot.pkla >"$PKLA"
	chmod 644 "$PKLA"
	rm -f "$RULES"
fi

# 7. Docs, state, and a config only where there is none.
install -d -m 755 "$R/usr/local/share/doc/beam"
install -m 644 README.md "$R/usr/local/share/doc/beam/README.md"
install -d -m 700 -o "$USER_NAME" -g "$GROUP" "$R$STATE_DIR"
install -d -m 755 "$R$(dirname "$CONFIG")"
if [ -e "$R$CONFIG" ]; then
	echo "kept the existing $CONFIG"
else
	"$NODE" "$R$PREFIX/current/beam-pilot.mjs" init --config "$R$CONFIG" >/dev/null
	chown "$USER_NAME:$GROUP" "$R$CONFIG"
	echo "wrote an example $CONFIG: edit it (daemon.unit $UNIT, daemon.home $DAEMON_HOME, daemon.stop_timeout_ms $STOP_TIMEOUT_MS)"
fi

echo "installed beam-pilot $VERSION in $PREFIX/releases/$VERSION (current), polkit $POLKIT, $UNIT TimeoutStopSec=${STOP_TIMEOUT_MS}ms"
[ -z "$ROOT" ] || exit 0
systemctl daemon-reload
if systemctl is-active --quiet beam-pilot.service; then
	systemctl restart beam-pilot.service
	echo "restarted beam-pilot into $VERSION"
else
	cat <<NEXT
Next:
  sudo -u $USER_NAME $NODE $PREFIX/current/beam-pilot.mjs doctor --config $CONFIG
  sudo systemctl enable --now beam-pilot
NEXT
fi
