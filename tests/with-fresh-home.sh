#!/bin/sh
# Runs a test command in a fresh, empty HOME with its own XDG folders, removed afterwards:
# no test reads or writes the invoking user's ~/.config/postern or ~/.local/state/postern.
#   with-fresh-home.sh COMMAND [ARGS...]
set -eu
home=$(mktemp -d "${TMPDIR:-/tmp}/postern-ctest-home-XXXXXX")
trap 'rm -rf "$home"' EXIT INT TERM
mkdir -p "$home/.config" "$home/.local/state" "$home/.cache" "$home/.local/share"
HOME=$home XDG_CONFIG_HOME=$home/.config XDG_STATE_HOME=$home/.local/state \
  XDG_CACHE_HOME=$home/.cache XDG_DATA_HOME=$home/.local/share "$@"
