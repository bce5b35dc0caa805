#!/usr/bin/env bash
# The CLI's exit codes for every path (README "Exit codes"), checked write
# errors, and outputs that appear whole or not at all.
# Usage: exit_codes_test.sh SANAD_BINARY EXAMPLES_DIR
set -u
B=$1
EX=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
expect() {  # expect CODE DESCRIPTION -- COMMAND...
  local want=$1 what=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"; sed 's/^/  | /' "$T/err" | head -5
    fails=$((fails + 1))
  else
    echo "ok: $what (exit $got)"
    passes=$((passes + 1))
  fi
}
tally() {  # tally STATUS OK_TEXT FAIL_TEXT: counts a check whose status is $1
  if [ "$1" -eq 0 ]; then echo "ok: $2"; passes=$((passes + 1)); else echo "FAIL: $3"; fails=$((fails + 1)); fi
}
REFS=(--ref mri="$EX/mri.csv" --ref tariff="$EX/tariff.csv" --ref ptp="$EX/ptp.csv")
RULES=$EX/outpatient.sanad
CLAIMS=$EX/claims.ndjson

expect 0 "check on the example" -- "$B" check "$RULES" "$CLAIMS" "${REFS[@]}" --verdicts "$T/v.csv" --summary "$T/s.json"
cp "$T/v.csv" "$T/v.good"
grep -q "^amount 540,495,000, deduction 34,700,000, payable 505,795,000$" "$T/out" || { echo "FAIL: summary table without thousands separators"; head -4 "$T/out"; fails=$((fails + 1)); }
expect 1 "missing claims file" -- "$B" check "$RULES" "$T/none.ndjson" "${REFS[@]}"
expect 1 "unbound reference data" -- "$B" check "$RULES" "$CLAIMS"
printf 'rule r\n  when amout > 1\n  reject\n' >"$T/bad.sanad"
expect 2 "rules that do not compile (check)" -- "$B" check "$T/bad.sanad" "$CLAIMS"
expect 2 "rules that do not compile (lint)" -- "$B" lint "$T/bad.sanad"
expect 3 "unknown option" -- "$B" check --bogus
expect 3 "missing argument" -- "$B" check "$RULES"
expect 3 "no subcommand" -- "$B"
expect 3 "malformed --ref" -- "$B" check "$RULES" "$CLAIMS" --ref mri
expect 3 "malformed --ref (explain-plan)" -- "$B" explain-plan "$RULES" --ref =x.csv
expect 3 "bad --threads" -- "$B" check "$RULES" "$CLAIMS" --threads -2
expect 3 "--settlement without payers" -- "$B" check "$RULES" "$CLAIMS" "${REFS[@]}" --settlement "$T/st.csv"
[ -e "$T/st.csv" ] && { echo "FAIL: a refused --settlement left a file"; fails=$((fails + 1)); }
expect 0 "--settlement of the settlement example" -- "$B" check "$EX/settlement/village-clinic.sanad" "$EX/settlement/claims.ndjson" \
  --settlement "$T/st.ndjson"
grep -q '"claim_id":"V-104","line_no":1,"allowed":0,"basic":0,"critical_illness":0,"assistance":0,"patient":0,"patient_paid":200000,"balance":-200000' "$T/st.ndjson" \
  || { echo "FAIL: settlement NDJSON"; head -4 "$T/st.ndjson"; fails=$((fails + 1)); }
expect 3 "gen with a negative line count" -- "$B" gen --lines -5 --out "$T/g"
expect 3 "gen with a non-number" -- "$B" gen --lines lots --out "$T/g"
expect 3 "unknown output extension" -- "$B" check "$RULES" "$CLAIMS" "${REFS[@]}" --verdicts "$T/v.txt"
[ -e "$T/v.txt" ] && { echo "FAIL: wrote an output of unknown format"; fails=$((fails + 1)); }
expect 3 "summary that is not .json" -- "$B" check "$RULES" "$CLAIMS" "${REFS[@]}" --summary "$T/s.csv"
expect 0 "help" -- "$B" --help
expect 0 "version" -- "$B" --version
grep -qx "sanad [0-9]*\.[0-9]*\.[0-9]*" "$T/out" || { echo "FAIL: --version printed: $(cat "$T/out")"; fails=$((fails + 1)); }

# Bad records: fail mode stops (1); skip mode completes and says so (4).
{ head -n 3 "$CLAIMS"; echo '{"claim_id": broken'; tail -n +4 "$CLAIMS"; } >"$T/bad.ndjson"
expect 1 "bad record, --on-error fail" -- "$B" check "$RULES" "$T/bad.ndjson" "${REFS[@]}" --verdicts "$T/v.csv"
cmp -s "$T/v.csv" "$T/v.good" || { echo "FAIL: a failed run changed the previous verdicts"; fails=$((fails + 1)); }
expect 4 "bad record, --on-error skip" -- "$B" check "$RULES" "$T/bad.ndjson" "${REFS[@]}" --on-error skip \
  --verdicts "$T/v2.csv" --errors "$T/errors.csv"
grep -q '^4,"","malformed JSON' "$T/errors.csv" || { echo "FAIL: errors file"; cat "$T/errors.csv"; fails=$((fails + 1)); }
expect 1 "unwritable --errors path" -- "$B" check "$RULES" "$T/bad.ndjson" "${REFS[@]}" --on-error skip \
  --verdicts "$T/v.csv" --errors "$T/no/such/dir/errors.csv"
cmp -s "$T/v.csv" "$T/v.good" || { echo "FAIL: a run whose last output failed replaced the verdicts"; fails=$((fails + 1)); }
ls -a "$T" | grep -q 'sanad-tmp' && { echo "FAIL: temporary files left behind"; fails=$((fails + 1)); }

# Write errors on stdout are errors.
if [ -w /dev/full ]; then
  expect 1 "fmt into /dev/full" -- sh -c "exec '$B' fmt '$RULES' >/dev/full"
  expect 1 "lint into /dev/full" -- sh -c "exec '$B' lint '$RULES' >/dev/full"
  expect 1 "explain-plan into /dev/full" -- sh -c "exec '$B' explain-plan '$RULES' >/dev/full"
  expect 1 "stats into /dev/full" -- sh -c "exec '$B' stats '$CLAIMS' >/dev/full"
  expect 1 "check summary into /dev/full" -- sh -c "exec '$B' check '$RULES' '$CLAIMS' ${REFS[*]} >/dev/full"
fi
printf 'rule   r\n when amount>1\n reject\n' >"$T/messy.sanad"
expect 1 "fmt --check of an unformatted file" -- "$B" fmt --check "$T/messy.sanad"
expect 0 "fmt --write rewrites it" -- "$B" fmt --write "$T/messy.sanad"
expect 0 "then fmt --check passes" -- "$B" fmt --check "$T/messy.sanad"
expect 3 "fmt --write with --check" -- "$B" fmt --write --check "$T/messy.sanad"

# `-` is stdin for the claims and stdout for one output; --quiet prints nothing else.
"$B" check "$RULES" - "${REFS[@]}" --verdicts - <"$CLAIMS" >"$T/stdout.csv" 2>"$T/err"
cmp -s "$T/stdout.csv" "$T/v.good" && echo "ok: claims from stdin, verdicts to stdout" && passes=$((passes + 1)) \
  || { echo "FAIL: '-' for stdin/stdout"; head -3 "$T/stdout.csv" "$T/err"; fails=$((fails + 1)); }
expect 3 "two outputs to stdout" -- "$B" check "$RULES" "$CLAIMS" "${REFS[@]}" --verdicts - --hits -
"$B" check -q "$RULES" "$CLAIMS" "${REFS[@]}" --verdicts "$T/q.csv" >"$T/q.out" 2>&1
[ ! -s "$T/q.out" ] && cmp -s "$T/q.csv" "$T/v.good" && echo "ok: --quiet prints nothing" && passes=$((passes + 1)) \
  || { echo "FAIL: --quiet printed"; head -3 "$T/q.out"; fails=$((fails + 1)); }
expect 3 "unknown --input-format" -- "$B" check "$RULES" - --input-format xml

# A run killed at any moment leaves the verdicts either as they were or
# complete, never truncated (whatever the moment, both outcomes are fine).
"$B" gen --lines 200000 --out "$T/gen" --seed 7 >/dev/null 2>&1
GREFS=(--ref mri="$T/gen/mri.csv" --ref tariff="$T/gen/tariff.csv" --ref ptp="$T/gen/ptp.csv")
"$B" check "$RULES" "$T/gen/claims.ndjson" "${GREFS[@]}" --verdicts "$T/old.csv" --hits "$T/old_hits.csv" >/dev/null
sed 's/per month <= 6/per month <= 2/' "$RULES" >"$T/strict.sanad"
"$B" check "$T/strict.sanad" "$T/gen/claims.ndjson" "${GREFS[@]}" --verdicts "$T/new.csv" --hits "$T/new_hits.csv" >/dev/null
# Starts the stricter rules over the generated month in the background,
# writing over copies of the old outputs, and waits $1 seconds ($pid: the run).
start_strict_run() {
  rm -f "$T"/.*.sanad-tmp-*  # what an earlier kill -9 may have left (SIGKILL cannot be cleaned up after)
  cp "$T/old.csv" "$T/v.csv"; cp "$T/old_hits.csv" "$T/h.csv"
  "$B" check "$T/strict.sanad" "$T/gen/claims.ndjson" "${GREFS[@]}" --verdicts "$T/v.csv" --hits "$T/h.csv" >/dev/null 2>&1 &
  pid=$!
  sleep "$1"
}
for delay in 0.05 0.2 0.4 0.8; do
  start_strict_run "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # (Each file is whole; the renames of two files cannot be one atomic step.)
  { cmp -s "$T/v.csv" "$T/old.csv" || cmp -s "$T/v.csv" "$T/new.csv"; } &&
    { cmp -s "$T/h.csv" "$T/old_hits.csv" || cmp -s "$T/h.csv" "$T/new_hits.csv"; }
  tally $? "killed after ${delay}s: outputs old or new, whole" "killed after ${delay}s: an output is truncated"
done

# Ctrl-C (SIGINT) stops a long run at once: exit by the signal, previous
# outputs untouched, no temporary file left beside them.
for delay in 0.1 0.5; do
  start_strict_run "$delay"
  kill -INT "$pid" 2>/dev/null
  start=$(date +%s%N)
  wait "$pid" 2>/dev/null
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  leftovers=$(ls -a "$T" | grep -c 'sanad-tmp' || true)
  [ "$leftovers" -eq 0 ] && { [ "$rc" -eq 130 ] || [ "$rc" -eq 0 ]; } && [ "$ms" -lt 5000 ] &&
    { cmp -s "$T/v.csv" "$T/old.csv" || cmp -s "$T/v.csv" "$T/new.csv"; }
  tally $? "Ctrl-C after ${delay}s: stopped (exit $rc) in ${ms} ms, no temporary files" \
    "Ctrl-C after ${delay}s: exit $rc after ${ms} ms, $leftovers temporary files"
done

# A claims file truncated while it is read (it is memory-mapped): the run
# ends by SIGBUS with a message saying why, no temporary file is left and
# the previous outputs are untouched. The signal is sent, so the check does
# not depend on when a truncation would land.
start_strict_run 0.2
kill -BUS "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rc=$?
leftovers=$(ls -a "$T" | grep -c 'sanad-tmp' || true)
[ "$leftovers" -eq 0 ] && { [ "$rc" -eq 135 ] || [ "$rc" -eq 0 ]; } &&
  { cmp -s "$T/v.csv" "$T/old.csv" || cmp -s "$T/v.csv" "$T/new.csv"; }
tally $? "SIGBUS: exit $rc, no temporary files, outputs old or new" "SIGBUS: exit $rc, $leftovers temporary files"
"$B" check "$T/strict.sanad" "$T/gen/claims.ndjson" "${GREFS[@]}" --verdicts "$T/bus.csv" >/dev/null 2>"$T/bus.err" &
pid=$!
sleep 0.2
kill -BUS "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rc=$?
if [ "$rc" -eq 135 ]; then
  grep -q 'truncated while it was read' "$T/bus.err" && [ ! -e "$T/bus.csv" ]
  tally $? "SIGBUS explained on stderr, no verdicts written" "SIGBUS without the message: $(cat "$T/bus.err")"
else
  [ "$rc" -eq 0 ]
  tally $? "SIGBUS after the run had finished (exit 0)" "SIGBUS: unexpected exit $rc"
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
