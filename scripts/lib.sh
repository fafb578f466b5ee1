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
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
  fi
}
