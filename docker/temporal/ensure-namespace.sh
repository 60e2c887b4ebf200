#!/bin/sh
# One-shot job (temporalio/admin-tools): waits for the Temporal frontend, then
# makes sure the namespace the backbone runs in exists. Creating it is skipped
# when it is already there, so the job is safe on every start.
# TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE in the environment name the server
# and the namespace.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is not set}"
: "${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE is not set}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-168h}"

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 90 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS did not become healthy" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" --retention "$retention"
  echo "namespace $TEMPORAL_NAMESPACE created (retention $retention)"
fi
