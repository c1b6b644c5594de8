#!/usr/bin/env bash
# Runs irctest (the IRC server conformance suite) against server.ts --irc, with the
# basic selection of upstream's Makefile, minus the areas the IRC listener leaves out
# on purpose (docs/irc.md). Needs python3 with pytest (not 9.0.0), filelock and
# pytest-xdist; IRCTEST_DIR is where irctest is (default ../shared/irctest).
# Extra arguments go to pytest. Exits non-zero if any selected test fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
irctest="${IRCTEST_DIR:-$root/../shared/irctest}"
python="${PYTHON:-python3}"
if [ ! -d "$irctest/irctest" ]; then
  echo "irctest not found at $irctest (set IRCTEST_DIR)" >&2
  exit 1
fi
# The services tests (SASL, account registration, account-tag, extended-join, WHOX %a…)
# are included: NickServ is part of the server (see registerUser in chat_irctest.py).
markers='not implementation-specific and not deprecated'
# Deselected by --deselect, so that they stay out when a -k of the caller's is given.
skip=()
# labeled-response: its TAGMSG tests relay client-only tags (+draft/reply …), which are not relayed
# (CLIENTTAGDENY=*).
labeled=irctest/server_tests/labeled_responses.py::LabeledResponsesTestCase
for to in Client Channel Self; do
  skip+=(--deselect "$labeled::testLabeledTagMsgResponsesTo$to")
done
cd "$irctest"
# irctest's own port bookkeeping lives in the temp dir; -p no:cacheprovider keeps its tree clean.
PYTHONPATH="$irctest:$root/tools" exec "$python" -m pytest -p no:cacheprovider \
  --controller chat_irctest -m "$markers" "${skip[@]}" irctest/server_tests/ "$@"
