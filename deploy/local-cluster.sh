#!/usr/bin/env bash
# Two huichang instances and nginx on loopback, against the local PostgreSQL: the national
# setup (several instances behind a load balancer) on one machine, without Docker.
#
#   cargo build --release -p huichang
#   sudo apt-get install nginx postgresql      # Debian's packages; nginx need not be running
#   createdb huichang_cluster                  # or name any database in HUICHANG_DATABASE_URL
#   deploy/local-cluster.sh
#
# It uses deploy/nginx.conf as it is, with the two instances as its upstream, and stops
# everything on Ctrl-C (or SIGTERM). Settings, all optional:
#   HUICHANG_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/huichang_cluster
#   HUICHANG_ADMIN_TOKEN   default: a new one, printed
#   CLUSTER_PORT           nginx, the address to open (default 8080)
#   CLUSTER_PORT_A/_B      the instances (default 8081, 8082)
#   CLUSTER_DIR            logs, data directories, nginx's files (default ./local-cluster)
# The binary is `huichang` on PATH, else target/release or target/debug of this repository.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
port=${CLUSTER_PORT:-8080}
port_a=${CLUSTER_PORT_A:-8081}
port_b=${CLUSTER_PORT_B:-8082}
dir=$(mkdir -p "${CLUSTER_DIR:-local-cluster}" && cd "${CLUSTER_DIR:-local-cluster}" && pwd)
database_url=${HUICHANG_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/huichang_cluster}

huichang=$(command -v huichang || true)
for candidate in "$repo/target/release/huichang" "$repo/target/debug/huichang"; do
  if [ -z "$huichang" ] && [ -x "$candidate" ]; then huichang=$candidate; fi
done
[ -n "$huichang" ] || { echo "local-cluster: build it first: cargo build --release -p huichang" >&2; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "local-cluster: install nginx (apt-get install nginx)" >&2; exit 1; }
if command -v psql >/dev/null && ! psql "$database_url" -qAtc 'SELECT 1' >/dev/null; then
  echo "local-cluster: PostgreSQL does not answer at that URL; create the database (createdb huichang_cluster)" >&2
  exit 1
fi
admin_token=${HUICHANG_ADMIN_TOKEN:-hca_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')}

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Both start at once: the first takes PostgreSQL's advisory lock and migrates, the other waits.
for name in a b; do
  instance_port=$port_a
  [ "$name" = b ] && instance_port=$port_b
  mkdir -p "$dir/$name"
  HUICHANG_BIND=127.0.0.1:$instance_port HUICHANG_DATA_DIR=$dir/$name HUICHANG_DATABASE_URL=$database_url \
    HUICHANG_ADMIN_TOKEN=$admin_token HUICHANG_PUBLIC_URL=http://127.0.0.1:$port HUICHANG_TRUSTED_PROXIES=127.0.0.1 \
    "$huichang" serve >"$dir/$name.log" 2>&1 &
  pids+=($!)
done

# nginx as a local process: its pid, logs and temporary files in $dir/nginx, the site file with
# the two instances in place of the upstream's server line and a loopback port to listen on.
mkdir -p "$dir/nginx"
sed -e "s|^\( *\)server 127\.0\.0\.1:8080\(.*\)|\1server 127.0.0.1:$port_a\2\n\1server 127.0.0.1:$port_b\2|" \
  -e "s|^\( *\)listen 80;|\1listen 127.0.0.1:$port;|" "$repo/deploy/nginx.conf" >"$dir/nginx/site.conf"
cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 512; }
http {
    access_log $dir/nginx/access.log;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    include $dir/nginx/site.conf;
}
EOF
"$nginx" -q -t -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log"
"$nginx" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" -g 'daemon off;' &
pids+=($!)

ready() { curl -fs -o /dev/null --max-time 2 "$1/readyz"; }
for _ in $(seq 150); do
  if ready "http://127.0.0.1:$port_a" && ready "http://127.0.0.1:$port_b" && ready "http://127.0.0.1:$port"; then
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "local-cluster: a process ended; see $dir/*.log" >&2; tail -n 5 "$dir"/*.log >&2; exit 1; }
  done
  sleep 0.2
done
ready "http://127.0.0.1:$port" || { echo "local-cluster: not ready after 30 s; see $dir/*.log" >&2; exit 1; }

cat >"$dir/cluster.env" <<EOF
HC_URL=http://127.0.0.1:$port
HC_URL_A=http://127.0.0.1:$port_a
HC_URL_B=http://127.0.0.1:$port_b
HC_ADMIN_TOKEN=$admin_token
EOF
echo "instance A: http://127.0.0.1:$port_a  (log $dir/a.log)"
echo "instance B: http://127.0.0.1:$port_b  (log $dir/b.log)"
echo "admin token: $admin_token  (these in $dir/cluster.env)"
echo "cluster ready: http://127.0.0.1:$port  (Ctrl-C stops it)"

# Runs until interrupted, or until one of the three ends, which takes the others down too.
wait -n "${pids[@]}"
echo "local-cluster: a process ended; stopping the others" >&2
exit 1
