# Shared by setup.sh and test.sh: install Debian packages that are missing.

# ensure_packages "command-or-path:package" ...
ensure_packages() {
  local sudo="" need=() spec what pkg
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  for spec in "$@"; do
    what="${spec%%:*}"
    pkg="${spec##*:}"
    if [ "${what#/}" != "$what" ]; then
      [ -e "$what" ] || need+=("$pkg")
    else
      command -v "$what" >/dev/null 2>&1 || need+=("$pkg")
    fi
  done
  if [ "${#need[@]}" -gt 0 ]; then
    echo "installing: ${need[*]}"
    # apt exits 100 for a held dpkg lock (an unattended upgrade on a fresh machine) or a mirror that
    # failed one request: wait for the lock and try again before giving up.
    local apt=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3) try
    for try in 1 2 3; do
      if $sudo apt-get "${apt[@]}" update -qq \
        && DEBIAN_FRONTEND=noninteractive $sudo apt-get "${apt[@]}" install -y -qq "${need[@]}"; then
        return 0
      fi
      echo "apt-get failed (attempt $try of 3)" >&2
      sleep $((try * 15))
    done
    return 100
  fi
}
