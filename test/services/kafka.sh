#!/usr/bin/env bash
# The Apache Kafka broker the tests run (test/kit/kafka.ts starts one KRaft node per test file from these jars).
#   test/services/kafka.sh fetch   fetch Apache Kafka's jars with Maven into the cache (once), print the directory
#   test/services/kafka.sh start   start a single KRaft node on 127.0.0.1:${KAFKA_PORT:-9092} in ${KAFKA_DIR:-a temp dir}
#                                  and wait until it answers (for trying abflow by hand); prints its PID
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")"
libs="${ABFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/abflow}/kafka-$version/libs"

fetch() {
  if [ ! -f "$libs/.complete" ]; then
    mkdir -p "$libs"
    mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" >&2
    touch "$libs/.complete"
  fi
  echo "$libs"
}

case "${1:-}" in
  fetch) fetch ;;
  start)
    fetch >/dev/null
    port="${KAFKA_PORT:-9092}"
    cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
    dir="${KAFKA_DIR:-$(mktemp -d)}"
    mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
log.dirs=$dir/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.ms=-1
PROPS
    [ -f "$dir/data/meta.properties" ] || java -cp "$libs/*" kafka.tools.StorageTool format -t "abflow-$(date +%s)-cluster" -c "$dir/server.properties" >/dev/null
    java -Xmx512m -Dkafka.logs.dir="$dir" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" -cp "$libs/*" kafka.Kafka "$dir/server.properties" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$pid"; exit 0; fi
      kill -0 "$pid" 2>/dev/null || { echo "the broker exited; see $dir/kafka.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "the broker did not listen on $port within 60 s; see $dir/kafka.log" >&2
    exit 1
    ;;
  *)
    echo "usage: $0 fetch|start" >&2
    exit 2
    ;;
esac
