#!/usr/bin/env bash
# The Debian package, end to end (issue 18), as root on Debian 12:
#   1. builds it from a clean clone of HEAD with scripts/package (lintian: no error, no warning), and a newer build
#      of the same commit (version +1) for the upgrade;
#   2. bootstraps a clean Debian 12 root (debootstrap minbase, plus systemd, dbus and man-db, as a gateway host has)
#      and boots it with systemd as PID 1 (systemd-nspawn --boot); where that cannot be done it says why and works
#      in a chroot instead, where it proves what the maintainer scripts did step by step;
#   3. `apt-get install ./deliveryd_*.deb` there, and checks: only run-time packages were pulled; the user, the
#      directories with owners and modes, the conffile, the man pages and the unit are in place; systemd-analyze
#      verify and security (<= 2.0); the service was enabled and started by the install, as deliveryd;
#   4. changes the configuration locally (one vendor, Twilio, with its secret through LoadCredential=, and ports of
#      the test's own) and restarts: /healthz, an intake, a signed Twilio callback, `deliveryctl health` and
#      `deliveryctl summary` against it;
#   5. upgrades to the newer build: restarted, the new version running, the local configuration kept (conffile),
#      the ledger's sends still there; remove: stopped, configuration and ledger kept; purge: configuration gone,
#      ledger kept, and said so.
# usage: tests/package/package_test.sh [--deps-only | --build-only DIR | --debs DIR]
#   (from anywhere; needs network for apt; about 9 minutes on two cores, 7 of them building)
#   --deps-only       installs what the test and scripts/package need, and stops
#   --build-only DIR  builds both packages into DIR and bootstraps the base root, and stops (.ci/run runs this in
#                     the background, at low priority, while the sanitized suite runs)
#   --debs DIR        tests the packages DIR holds (from --build-only) instead of building them
# DELIVERYD_PACKAGE_TEST_CHROOT=1 skips the boot and tests the chroot way.
set -euo pipefail
mode=all debs=""
case ${1:-} in
  --deps-only) mode=deps ;;
  --build-only) mode=build; debs=$2 ;;
  --debs) mode=test; debs=$2 ;;
  "") ;;
  *) sed -n '/^# usage/,/^# DELIVERYD/p' "$0" >&2; exit 64 ;;
esac
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
[ "$(id -u)" -eq 0 ] || { echo "package test: needs root (debootstrap, chroot, systemd-nspawn)"; exit 77; }
tmp=${TMPDIR:-/tmp}
work=$(mktemp -d "$tmp/deliveryd-package-XXXXXX")
root=$work/root
machine=deliveryd-pkg-$$
nspawn_pid="" booted=false mounts=() apt_path=()
webhooks_port=18780 ops_port=18781

say() { echo "package test: $*"; }
fail() { echo "package test: FAILED: $*" >&2; exit 1; }
check() { # check DESCRIPTION COMMAND...: runs the command; fails the test with the description when it fails
  local what=$1; shift
  if "$@"; then say "ok: $what"; else fail "$what"; fi
}

cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    in_root systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$nspawn_pid" 2>/dev/null || true
  fi
  # Whatever still runs inside the root (a daemon started by hand, a test that failed half-way) goes with it.
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill -9 "${proc#/proc/}" 2>/dev/null
  done
  for ((i=${#mounts[@]}-1; i>=0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Runs a command inside the root: in the booted container (its namespaces, through its PID 1) or in the chroot.
container_pid() { ps -o pid= --ppid "$nspawn_pid" | head -1 | tr -d ' '; }
in_root() {
  if $booted; then
    nsenter -t "$(container_pid)" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
  else
    chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
  fi
}

"$repo/scripts/install-missing" "package test" debootstrap systemd-container curl openssl
if [ "$mode" = deps ]; then
  "$repo/scripts/package" --deps-only
  exit 0
fi

# 1. Two builds of a clean clone: the version scripts/package gives HEAD, then the same commit as a newer version.
started=$(date +%s)
if [ "$mode" = test ]; then
  out=$debs
else
  out=${debs:-$work/out}
  git clone -q "$repo" "$work/clone"
  (cd "$work/clone" && scripts/package --out "$out") | sed 's/^/  /'
  version=$(dpkg-deb -f "$(ls "$out"/deliveryd_*_amd64.deb)" Version)
  (cd "$work/clone" && scripts/package --out "$out" --version "${version%-1}+1" --reuse) | sed 's/^/  /'
  say "built in $(( $(date +%s) - started )) s"
fi
# The older of the two is installed first, the newer one is the upgrade.
set -- "$out"/deliveryd_*_amd64.deb
[ $# = 2 ] || fail "expected two packages in $out, found: $*"
old_deb=$1 new_deb=$2
dpkg --compare-versions "$(dpkg-deb -f "$1" Version)" gt "$(dpkg-deb -f "$2" Version)" && old_deb=$2 new_deb=$1
old_version=$(dpkg-deb -f "$old_deb" Version)
new_version=$(dpkg-deb -f "$new_deb" Version)
new_version=${new_version%-1}
say "installing $old_version, then upgrading to $new_version-1"

# 2. A clean Debian 12 root, kept as a base in $TMPDIR between runs (as ../shared/tools/fresh-debian keeps its own).
base=$tmp/deliveryd-package-base
if [ ! -f "$base/.complete" ]; then
  rm -rf "$base"
  say "debootstrap of Debian 12 into $base"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,man-db bookworm "$base" \
    > "$tmp/deliveryd-package-debootstrap.log" 2>&1 || fail "debootstrap: see $tmp/deliveryd-package-debootstrap.log"
  touch "$base/.complete"
fi
[ "$mode" = build ] && { say "built and bootstrapped in $(( $(date +%s) - started )) s"; exit 0; }
mkdir "$root"
cp -a "$base/." "$root/"
rm -f "$root/.complete"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "$machine" > "$root/etc/hostname"
cp "$old_deb" "$new_deb" "$root/root/"
chroot "$root" apt-get update -qq

if [ "${DELIVERYD_PACKAGE_TEST_CHROOT:-0}" != 1 ]; then
  # --keep-unit and --register=no: no machined and no system bus on the host are needed.
  setsid systemd-nspawn -D "$root" --boot --register=no --keep-unit --console=pipe -M "$machine" \
    > "$work/nspawn.log" 2>&1 < /dev/null &
  nspawn_pid=$!
  for _ in $(seq 1 120); do
    if kill -0 "$nspawn_pid" 2>/dev/null && [ -n "$(container_pid)" ]; then
      booted=true
      state=$(in_root systemctl is-system-running 2>/dev/null || true)
      booted=false
      case $state in running|degraded) booted=true; break ;; esac
    fi
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.5
  done
  if $booted; then
    say "booted the root with systemd as PID 1 (systemd-nspawn --boot): $state"
  else
    say "cannot boot the root with systemd-nspawn --boot (state '${state:-none}'); its output:"
    sed 's/^/  /' "$work/nspawn.log" | tail -20
    kill -9 "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=""
  fi
fi
if ! $booted; then
  say "testing in a chroot: the maintainer scripts' effects are checked step by step, the daemon started by hand"
  for m in proc sys dev; do mount --bind "/$m" "$root/$m" && mounts+=("$root/$m"); done
  # What the maintainer scripts ask of the running systemd, written down: with /run/systemd/system present they
  # believe systemd runs, and call this deb-systemd-invoke (first on PATH) to start, restart or stop the unit.
  # (systemctl stays the real one: deb-systemd-helper enables the unit with `systemctl --root=/ preset`.)
  mkdir -p "$root/run/systemd/system" "$root/usr/local/sbin"
  printf '#!/bin/sh\necho "deb-systemd-invoke $*" >> /var/log/package-test-systemd.log\n' \
    > "$root/usr/local/sbin/deb-systemd-invoke"
  chmod 0755 "$root/usr/local/sbin/deb-systemd-invoke"
  apt_path=(-o DPkg::Path=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin) # apt's default leaves /usr/local out
  asked() { grep -qx "$1" "$root/var/log/package-test-systemd.log" 2>/dev/null; }
  asked_reset() { rm -f "$root/var/log/package-test-systemd.log"; }
fi

# 3. Install, and what it pulled.
in_root dpkg-query -W -f='${Package}\n' | sort > "$work/before"
in_root apt-get "${apt_path[@]}" install -y -qq --no-install-recommends "/root/$(basename "$old_deb")" > "$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "apt-get install ./$(basename "$old_deb")"; }
in_root dpkg-query -W -f='${Package}\n' | sort > "$work/after"
pulled=$(comm -13 "$work/before" "$work/after" | tr '\n' ' ')
say "apt-get install pulled: $pulled"
build_only=$(comm -13 "$work/before" "$work/after" \
  | grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|llvm|binutils|make|cmake|build-essential|pandoc|debhelper)(-|$)' || true)
check "only run-time packages were pulled (none of: -dev, compiler, build tool)" test -z "$build_only"
check "the package is installed at $old_version" \
  test "$(in_root dpkg-query -W -f='${Status} ${Version}' deliveryd)" = "install ok installed $old_version"

user_line=$(in_root getent passwd deliveryd || true)
IFS=: read -r _ _ uid gid _ home shell <<< "$user_line"
check "system user deliveryd (uid $uid < 1000, home $home, shell $shell)" \
  test -n "$user_line" -a "${uid:-1000}" -lt 1000 -a "$home" = /var/lib/deliveryd -a "$shell" = /usr/sbin/nologin
check "group deliveryd" test "$(in_root getent group deliveryd | cut -d: -f3)" = "$gid"
owner_mode() { in_root stat -c '%U:%G %a' "$1"; }
check "/var/lib/deliveryd is deliveryd:deliveryd 700" test "$(owner_mode /var/lib/deliveryd)" = "deliveryd:deliveryd 700"
check "/etc/deliveryd is root:root 755" test "$(owner_mode /etc/deliveryd)" = "root:root 755"
check "/etc/deliveryd/deliveryd.toml is root:root 644" \
  test "$(owner_mode /etc/deliveryd/deliveryd.toml)" = "root:root 644"
check "/etc/deliveryd/credentials is root:root 700" \
  test "$(owner_mode /etc/deliveryd/credentials)" = "root:root 700"
check "the generated ops token is root:root 600, 64 hex digits" \
  test "$(owner_mode /etc/deliveryd/credentials/ops_token)" = "root:root 600" -a \
  "$(in_root cat /etc/deliveryd/credentials/ops_token | tr -d '0-9a-f' | wc -c)" = 0 -a \
  "$(in_root cat /etc/deliveryd/credentials/ops_token | wc -c)" = 64
check "/etc/deliveryd/deliveryd.toml is a conffile" \
  in_root sh -c "dpkg-query -W -f='\${Conffiles}' deliveryd | grep -q '^ /etc/deliveryd/deliveryd.toml '"
check "the binaries are /usr/sbin/deliveryd and /usr/bin/deliveryctl" \
  in_root test -x /usr/sbin/deliveryd -a -x /usr/bin/deliveryctl
check "deliveryd --version prints the package's version" \
  test "$(in_root /usr/sbin/deliveryd --version)" = "deliveryd ${old_version%-1}"
for page in deliveryd.8 deliveryctl.1 deliveryd.toml.5; do
  check "man page $page (found by man)" in_root sh -c "man -w ${page##*.} ${page%.*} | grep -q /usr/share/man/"
done
check "man deliveryd.toml renders and documents [storage] path" \
  in_root sh -c 'MANWIDTH=100 man 5 deliveryd.toml 2>/dev/null | grep -q "ledger"'
check "the unit is /lib/systemd/system/deliveryd.service" in_root test -f /lib/systemd/system/deliveryd.service
check "the commented drop-in example is in the docs" \
  in_root test -f /usr/share/doc/deliveryd/examples/credentials.conf.example
check "systemd-analyze verify deliveryd.service" in_root systemd-analyze verify deliveryd.service
# Booted: the unit as the running systemd loaded it; in a chroot, the file itself.
security_of=(--offline=true /lib/systemd/system/deliveryd.service)
$booted && security_of=(deliveryd.service)
security=$(in_root systemd-analyze security "${security_of[@]}" 2>&1 \
  | sed -n 's/.*Overall exposure level for deliveryd.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security: exposure ${security:-none} <= 2.0" awk -v s="${security:-9}" 'BEGIN { exit !(s <= 2.0) }'
check "the install enabled the unit" \
  in_root test -L /etc/systemd/system/multi-user.target.wants/deliveryd.service

main_pid() { in_root systemctl show -p MainPID --value deliveryd; }
wait_active() { # waits until the service is active, up to 30 s
  for _ in $(seq 1 60); do
    [ "$(in_root systemctl is-active deliveryd || true)" = active ] && return 0
    sleep 0.5
  done
  in_root journalctl -u deliveryd --no-pager | tail -20
  return 1
}
if ! $booted; then
  check "the install asked systemd to start the service" asked "deb-systemd-invoke start deliveryd.service"
  asked_reset
fi
if $booted; then
  check "the install started the service" wait_active
  pid=$(main_pid)
  check "it runs as deliveryd (pid $pid)" test "$(in_root stat -c %U "/proc/$pid")" = deliveryd
  check "its ledger was created in /var/lib/deliveryd, owned by deliveryd" \
    test "$(in_root stat -c %U /var/lib/deliveryd/ledger.db 2>/dev/null)" = deliveryd
fi

# 4. A local change: Twilio enabled, its auth token through LoadCredential=, and ports of the test's own.
auth_token=package-test-auth-token
in_root sh -c "umask 077; printf %s '$auth_token' > /etc/deliveryd/credentials/twilio_auth_token"
in_root mkdir -p /etc/systemd/system/deliveryd.service.d
in_root sh -c 'cat > /etc/systemd/system/deliveryd.service.d/credentials.conf' <<'EOF'
[Service]
LoadCredential=twilio_auth_token:/etc/deliveryd/credentials/twilio_auth_token
EOF
in_root sed -i -e "s/^listen = \"127.0.0.1:8080\"/listen = \"127.0.0.1:$webhooks_port\"/" \
  -e "s/^listen = \"127.0.0.1:8081\"/listen = \"127.0.0.1:$ops_port\"/" \
  -e "s|^# public_url = .*|public_url = \"http://127.0.0.1:$webhooks_port\"|" /etc/deliveryd/deliveryd.toml
in_root sh -c 'cat >> /etc/deliveryd/deliveryd.toml' <<'EOF'

# Added on this host by the package test.
[twilio]
account_sid = "AC00000000000000000000000000000001"
auth_token_file = "/run/credentials/deliveryd.service/twilio_auth_token"
EOF
cp "$root/etc/deliveryd/deliveryd.toml" "$work/local.toml"

start_by_hand() { # the chroot way: as systemd would, as deliveryd, with the credentials where the unit puts them
  in_root sh -c 'mkdir -p /run/credentials/deliveryd.service && cp /etc/deliveryd/credentials/ops_token \
    /etc/deliveryd/credentials/twilio_auth_token /run/credentials/deliveryd.service/ && \
    chown -R deliveryd: /run/credentials/deliveryd.service && chmod 0500 /run/credentials/deliveryd.service'
  # exec all the way down, so that $! is the daemon itself and stop_by_hand stops it
  (exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
    setpriv --reuid=deliveryd --regid=deliveryd --clear-groups \
    sh -c 'cd /var/lib/deliveryd && exec /usr/sbin/deliveryd --config /etc/deliveryd/deliveryd.toml') \
    > "$work/daemon.log" 2>&1 &
  echo $! > "$work/daemon.pid"
}
stop_by_hand() {
  local pid
  pid=$(cat "$work/daemon.pid")
  check "the daemon started by hand is deliveryd (pid $pid)" \
    test "$(readlink "/proc/$pid/exe" | sed "s/ (deleted)$//")" = "$root/usr/sbin/deliveryd"
  kill "$pid"
  wait "$pid" || fail "deliveryd exited with status $? on SIGTERM: $(tail -5 "$work/daemon.log")"
  rm -f "$work/daemon.pid"
}
restart() {
  if $booted; then in_root systemctl daemon-reload && in_root systemctl restart deliveryd
  else [ -f "$work/daemon.pid" ] && stop_by_hand; start_by_hand; fi
}
healthy() { # waits for /healthz to answer 200, up to 30 s
  for _ in $(seq 1 60); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ops_port/healthz")" = 200 ] && return 0
    sleep 0.5
  done
  return 1
}
restart
check "after the local change, /healthz answers 200 on 127.0.0.1:$ops_port" healthy
token=$(cat "$root/etc/deliveryd/credentials/ops_token")
now=$(date --iso-8601=seconds)
sid=SM$(openssl rand -hex 16)
intake=$(curl -sS "http://127.0.0.1:$ops_port/v1/sends" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data "[{\"send_id\": \"pkg-1\", \"type\": \"follow_up\", \"medium\": \"sms\",
   \"vendor\": \"twilio\", \"contact\": \"010-1234-5678\", \"requested_at\": \"$now\", \"vendor_message_id\": \"$sid\"}]")
check "intake accepted the send: $intake" grep -q '"accepted":1' <<< "$intake"
unauthorized=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ops_port/v1/sends/pkg-1")
check "ops without the generated token is refused ($unauthorized)" test "$unauthorized" = 401
callback=$("$repo/scripts/twilio-callback" "$auth_token" "http://127.0.0.1:$webhooks_port/webhooks/twilio" \
  "MessageSid=$sid" MessageStatus=delivered AccountSid=AC00000000000000000000000000000001)
check "the signed Twilio callback was taken: $callback" grep -q '(HTTP 2' <<< "$callback"
forged=$("$repo/scripts/twilio-callback" wrong-token "http://127.0.0.1:$webhooks_port/webhooks/twilio" \
  "MessageSid=$sid" MessageStatus=failed ErrorCode=30003 AccountSid=AC00000000000000000000000000000001)
check "a callback signed with another token is refused: $forged" grep -q '(HTTP 403' <<< "$forged"
send_status() { curl -sS "http://127.0.0.1:$ops_port/v1/sends/pkg-1" -H "Authorization: Bearer $token" \
  | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' | tail -1; }
check "the send is sent" test "$(send_status)" = sent
health=$(in_root deliveryctl health 2>&1) || fail "deliveryctl health: $health"
say "deliveryctl health: $health"
month=$(TZ=Asia/Seoul date +%Y-%m)
summary=$(in_root deliveryctl summary "$month" 2>&1) || fail "deliveryctl summary $month: $summary"
echo "$summary" | sed 's/^/  /' | head -12
check "deliveryctl summary counts the send as sent" \
  in_root sh -c "deliveryctl --json summary $month | grep -q '\"sent\":1'"

# 5. Upgrade, remove, purge.
pid_before=$($booted && main_pid || echo 0)
in_root apt-get "${apt_path[@]}" install -y -qq --no-install-recommends "/root/$(basename "$new_deb")" > "$work/upgrade.log" 2>&1 \
  || { cat "$work/upgrade.log"; fail "apt-get install of the newer build"; }
check "upgraded to $new_version-1" \
  test "$(in_root dpkg-query -W -f='${Version}' deliveryd)" = "$new_version-1"
check "the local configuration survived the upgrade (conffile kept, no .dpkg-new or .dpkg-dist)" \
  sh -c "cmp -s '$work/local.toml' '$root/etc/deliveryd/deliveryd.toml' && \
    ! ls '$root'/etc/deliveryd/deliveryd.toml.dpkg-* >/dev/null 2>&1"
if $booted; then
  check "the upgrade restarted the service (pid $pid_before -> $(main_pid))" \
    sh -c "[ '$(in_root systemctl is-active deliveryd)' = active ] && [ '$(main_pid)' != '$pid_before' ]"
  exe_version=$(in_root sh -c "/proc/\$(systemctl show -p MainPID --value deliveryd)/exe --version" 2>/dev/null \
    || in_root /usr/sbin/deliveryd --version)
  check "the running binary is the new build ($exe_version)" test "$exe_version" = "deliveryd $new_version"
else
  check "the upgrade left the unit enabled" \
    in_root test -L /etc/systemd/system/multi-user.target.wants/deliveryd.service
  check "the upgrade asked systemd to restart the service (not to stop it first)" \
    sh -c "grep -qx 'deb-systemd-invoke restart deliveryd.service' '$root/var/log/package-test-systemd.log' && \
      ! grep -q 'deb-systemd-invoke stop' '$root/var/log/package-test-systemd.log'"
  asked_reset
  restart
fi
check "after the upgrade, /healthz answers 200" healthy
check "the ledger's send is still there, still sent" test "$(send_status)" = sent

in_root apt-get "${apt_path[@]}" remove -y -qq deliveryd > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove"; }
if $booted; then
  check "remove stopped the service" sh -c "[ '$(in_root systemctl is-active deliveryd || true)' != active ]"
else
  check "remove asked systemd to stop the service" asked "deb-systemd-invoke stop deliveryd.service"
  stop_by_hand
fi
check "remove took the binaries" in_root sh -c '! test -e /usr/sbin/deliveryd && ! test -e /usr/bin/deliveryctl'
check "remove kept the configuration" cmp -s "$work/local.toml" "$root/etc/deliveryd/deliveryd.toml"
check "remove kept the ops token" test -s "$root/etc/deliveryd/credentials/ops_token"
check "remove kept the ledger" test -s "$root/var/lib/deliveryd/ledger.db"

in_root dpkg --purge deliveryd > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
sed 's/^/  /' "$work/purge.log"
check "purge removed the configuration and the secrets" test ! -e "$root/etc/deliveryd"
check "purge removed the unit's enablement" test ! -e "$root/etc/systemd/system/multi-user.target.wants/deliveryd.service"
check "purge kept the ledger" test -s "$root/var/lib/deliveryd/ledger.db"
check "purge said where the ledger is" grep -q "ledger is kept in /var/lib/deliveryd" "$work/purge.log"
say "PASSED ($($booted && echo "booted with systemd-nspawn" || echo "chroot"), $(( $(date +%s) - started )) s)"
