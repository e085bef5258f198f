#!/usr/bin/env bash
# Checks that the README's two commands work on a fresh Debian 12 machine:
# bootstraps a clean bookworm root with debootstrap (variant minbase: only
# required packages and apt, so nothing the project forgot to install is there
# by chance), clones this repository into it at HEAD (committed files only) and
# runs, in a chroot, as root, from the project root with a clean environment:
#     bash scripts/demo.sh
#     bash scripts/test.sh
# Prints each command's exit code and wall time; exits non-zero if either fails.
#
# Usage (as root): scripts/fresh-machine.sh [--keep] [--root DIR [--reset]] [--logs DIR]
#   --keep        keep the bootstrapped root (it is deleted by default)
#   --root DIR    use DIR as the root; bootstrap it only if not bootstrapped yet
#                 (a root given with --root is never deleted), for fast reruns;
#                 packages a previous run installed are still there
#   --reset       with --root: first put DIR back to its just-bootstrapped state
#                 (saved after debootstrap), a fresh machine without debootstrap
#   --logs DIR    where the logs go (default: a new /var/tmp/postern-fresh-logs.*)
#
# The chroot shares the host's network namespace: loopback only, plus the apt
# mirror that this machine's own apt sources name (copied into the root).
# shellcheck disable=SC2317  # the clean-up functions run from traps
set -euo pipefail

keep=0
root=
root_given=0
reset=0
logs=
while (($#)); do
  case "$1" in
    --keep) keep=1 ;;
    --root) root=${2:?--root needs a folder}; root_given=1; shift ;;
    --reset) reset=1 ;;
    --logs) logs=${2:?--logs needs a folder}; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-machine: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-machine: must run as root (debootstrap, mount, chroot)" >&2
  exit 1
fi

project=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
head=$(git -C "$project" rev-parse HEAD)
suite=bookworm
inside=/root/postern   # the project's folder inside the root

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f s (%.1f min)", b - a, (b - a) / 60 }'; }
log() { printf 'fresh-machine: %s\n' "$*"; }

# --- The mirror this machine's apt uses (only Debian's apt is reachable). ---
# Sources files in both formats: one-line (*.list) and deb822 (*.sources).
# Prints the URI of the first source that serves $suite (not -security/-updates).
find_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }   # [ options ]
        if ($(i + 1) == s) { print $i; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      function flush() {
        if (deb && uris != "" && (" " suites " ") ~ (" " s " ")) { split(uris, u, " "); print u[1]; found = 1 }
        deb = 0; uris = ""; suites = ""
      }
      /^[ \t]*$/ { flush(); if (found) exit; next }
      /^[ \t]*#/ { next }
      tolower($1) == "types:"  { deb = ($0 ~ /[ \t]deb([ \t]|$)/) }
      tolower($1) == "uris:"   { sub(/^[^:]*:[ \t]*/, ""); uris = $0 }
      tolower($1) == "suites:" { sub(/^[^:]*:[ \t]*/, ""); suites = $0 }
      END { if (!found) flush() }' "$f"
  done
}
mirror=$(find_mirror | head -n1)
if [ -z "$mirror" ]; then
  echo "fresh-machine: no apt source for $suite in /etc/apt/sources.list(.d)" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

if [ -z "$root" ]; then
  root=$(mktemp -d /var/tmp/postern-fresh-root.XXXXXX)
else
  mkdir -p "$root"
fi
root=$(realpath "$root")
chmod 755 "$root"   # it becomes / (see below)
if [ "$root" = / ]; then
  echo "fresh-machine: refusing / as the root" >&2
  exit 1
fi
if [ -z "$logs" ]; then
  logs=$(mktemp -d /var/tmp/postern-fresh-logs.XXXXXX)
else
  mkdir -p "$logs"
fi
logs=$(realpath "$logs")
marker=$root/.postern-fresh-bootstrapped
pristine=$root/.postern-fresh-bootstrap.tar   # the root right after debootstrap

# --- Clean-up: stop what runs in the root, unmount, delete (unless kept). ---
# Commands run in their own process group in the background and are waited
# for, so that TERM or INT reaches the traps at once, and the clean-up can stop
# the whole group (debootstrap's wget and dpkg too, which run outside the root).
child=
run_waiting() {   # run_waiting LOG COMMAND...
  local rc=0 out=$1
  shift
  setsid "$@" </dev/null >"$out" 2>&1 &
  child=$!
  wait "$child" || rc=$?
  child=
  return "$rc"
}
stop_child() {
  [ -n "$child" ] || return 0
  kill -TERM -- "-$child" 2>/dev/null || return 0
  local i
  for i in 1 2 3 4 5; do
    kill -0 -- "-$child" 2>/dev/null || return 0
    sleep 1
  done
  kill -KILL -- "-$child" 2>/dev/null || true
}
mounts=()   # mounted inside the root, in mount order
kill_root_processes() {
  local sig pid r n
  for sig in TERM KILL; do
    n=0
    for pid in /proc/[0-9]*; do
      pid=${pid#/proc/}
      [ "$pid" = $$ ] && continue
      r=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
      if [ "$r" = "$root" ] || [ "${r#"$root"/}" != "$r" ]; then
        [ "$sig" = TERM ] && log "stopping $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80) (pid $pid)"
        kill -s "$sig" "$pid" 2>/dev/null && n=$((n + 1))
      fi
    done
    ((n)) || return 0
    [ "$sig" = TERM ] && sleep 3
  done
  sleep 1
}
unmount_all() {
  local i m
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    if mountpoint -q "$m"; then
      umount "$m" 2>/dev/null || { sleep 2; umount "$m" 2>/dev/null; } || umount -l "$m" || true
    fi
  done
  mounts=()
  # Anything else still mounted inside (debootstrap mounts proc and sys too).
  for m in $(remaining_mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
}
remaining_mounts() {
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts
}
cleaned=0
cleanup() {
  local rc=$?
  ((cleaned)) && return
  cleaned=1
  trap '' INT TERM
  stop_child
  kill_root_processes || true
  unmount_all
  if [ -n "$(remaining_mounts)" ]; then
    echo "fresh-machine: still mounted, root NOT deleted: $(remaining_mounts | tr '\n' ' ')" >&2
  elif ((keep || root_given)); then
    log "root kept: $root"
  else
    log "deleting $root"
    rm -rf --one-file-system "$root"
  fi
  log "logs: $logs"
  return "$rc"
}
trap cleanup EXIT
trap 'echo; log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM


mount_in_root() {   # mount_in_root TARGET mount-args...
  local target=$root/$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounts+=("$target")
}

log "project $project at $head"
log "root $root, mirror $mirror, logs $logs"
t_start=$(now)

# --- 1. Bootstrap. ---
if ((reset)); then
  if [ ! -f "$marker" ] || [ ! -f "$pristine" ]; then
    echo "fresh-machine: --reset: $root has no saved bootstrap state" >&2
    exit 1
  fi
  if [ -n "$(remaining_mounts)" ]; then
    echo "fresh-machine: --reset: something is mounted in $root: $(remaining_mounts | tr '\n' ' ')" >&2
    exit 1
  fi
  log "resetting $root to its just-bootstrapped state"
  find "$root" -mindepth 1 -maxdepth 1 ! -name "${marker##*/}" ! -name "${pristine##*/}" \
    -exec rm -rf --one-file-system {} +
  tar -C "$root" -xpf "$pristine"
fi
if [ -f "$marker" ]; then
  log "root already bootstrapped, reusing it"
  t_boot=0
else
  if [ -n "$(ls -A "$root" 2>/dev/null)" ]; then
    echo "fresh-machine: $root is neither empty nor a bootstrapped root" >&2
    exit 1
  fi
  log "debootstrap --variant=minbase $suite (log: $logs/debootstrap.log)"
  t0=$(now)
  if ! run_waiting "$logs/debootstrap.log" debootstrap --variant=minbase "$suite" "$root" "$mirror"; then
    echo "fresh-machine: debootstrap failed; last lines of $logs/debootstrap.log:" >&2
    tail -n 30 "$logs/debootstrap.log" >&2
    exit 1
  fi
  t_boot=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
  log "debootstrap: $(elapsed 0 "$t_boot")"
  tar -C "$root" --one-file-system --exclude="./${pristine##*/}" -cpf "$pristine" .  # for --reset
  touch "$marker"
fi

# Inside, this folder is /: mktemp's 0700 (also restored by --reset from a
# root made so) would keep every user but root out of the whole tree: Postfix'
# master, as user postfix, could not take its lock.
chmod 755 "$root"

# apt inside: this machine's name servers and Debian sources (the same mirror,
# updates and security); no service may start at install time.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
if [ -f /etc/apt/sources.list ] && grep -qE '^[[:space:]]*deb' /etc/apt/sources.list; then
  cp /etc/apt/sources.list "$root/etc/apt/sources.list"
else
  : >"$root/etc/apt/sources.list"
fi
rm -f "$root"/etc/apt/sources.list.d/*.list "$root"/etc/apt/sources.list.d/*.sources
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # Only Debian's archive is reachable: leave out other vendors' sources.
  grep -qiE '^[[:space:]]*(deb|uris:).*debian' "$f" && cp "$f" "$root/etc/apt/sources.list.d/"
done
printf '#!/bin/sh\n# fresh-machine.sh: no service starts at package install time.\nexit 101\n' \
  >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# A fresh machine has these; debootstrap leaves them to the installer.
[ -s "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

# --- 2. A clean clone of this repository at HEAD (committed files only). ---
rm -rf "$root$inside"
git clone -q --no-hardlinks --no-checkout "$project" "$root$inside"
git -C "$root$inside" checkout -q --detach "$head"
log "cloned $(git -C "$root$inside" log -1 --format='%h %s' | cut -c1-70)"

# --- 3. Mounts. ---
mount_in_root proc -t proc proc
mount_in_root sys -t sysfs sysfs
mount_in_root dev --bind /dev
mount_in_root dev/pts --bind /dev/pts
mount_in_root dev/shm -t tmpfs -o mode=1777,nosuid,nodev tmpfs

# --- 4. The README's two commands, as written. ---
results=()
failed=0
run_in_root() {   # run_in_root NAME COMMAND
  local name=$1 cmd=$2 t0 t1 rc
  log "running '$cmd' (log: $logs/$name.log)"
  t0=$(now)
  set +e
  run_waiting "$logs/$name.log" chroot "$root" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    /bin/bash -c "cd $inside && $cmd"
  rc=$?
  set -e
  t1=$(now)
  results+=("$(printf '%-22s exit %-3s %s' "$cmd" "$rc" "$(elapsed "$t0" "$t1")")")
  log "'$cmd': exit $rc, $(elapsed "$t0" "$t1")"
  if ((rc)); then
    failed=1
    echo "----- last 40 lines of $logs/$name.log -----"
    tail -n 40 "$logs/$name.log"
    echo "-----"
  fi
  # Nothing the command started may outlive it (postfix instances, servers).
  kill_root_processes
}
run_in_root demo "bash scripts/demo.sh"
run_in_root test "bash scripts/test.sh"

echo
log "summary"
[ "$t_boot" = 0 ] && echo "  debootstrap            reused root" \
                  || echo "  debootstrap            $(elapsed 0 "$t_boot")"
for r in "${results[@]}"; do echo "  $r"; done
echo "  total                  $(elapsed "$t_start" "$(now)")"
exit "$failed"
