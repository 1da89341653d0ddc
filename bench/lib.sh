# Shared by bench/run.sh and bench/mem.sh (sourced, not run): the paired
# alternating rounds, medians, per-call figures, the table and the
# PASS/FAIL lines. The sourcing script defines N, ROUNDS, RUN (scratch,
# holding expect.STEPS: the plain program's output per size), TIMES (raw
# "wall cpu" lines), VARIANTS, and the functions die, divisor, label and
# run_variant NAME STEPS TAG (appends to $TIMES/SLUG.TAG).

# The plain run of the same size: the reference for slowdown and ns/call.
reference() {
	local d
	d=$(divisor "$1")
	if [ "$d" = 1 ]; then echo plain; else echo "plain/$d"; fi
}
slug() { echo "${1//\//-}"; }
ncalls_of() { sed -n 's/.*ncalls=\([0-9]*\).*/\1/p' "$RUN/expect.$1"; }
steps_of() { echo $((N / $(divisor "$1"))); }

# bench_rounds NAME: every variant once per round, in order; each also
# with 1 step right after, so its fixed start-up and exit cost can be
# taken out of the per-call figure the checks use.
bench_rounds() {
	local r v start
	echo "$1: N=$N steps ($(ncalls_of "$N") calls), $ROUNDS rounds of ${#VARIANTS[@]} variants" >&2
	for ((r = 1; r <= ROUNDS; r++)); do
		start=$(date +%s)
		for v in "${VARIANTS[@]}"; do
			run_variant "$v" "$(steps_of "$v")" full
			run_variant "$v" 1 one
		done
		echo "$1: round $r/$ROUNDS done in $(($(date +%s) - start)) s" >&2
	done
}

# median VARIANT [full|one] [COLUMN]: column 1 wall seconds, 2 CPU seconds.
median() { awk -v c="${3:-1}" '{ print $c }' "$TIMES/$(slug "$1").${2:-full}" | sort -g |
	awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# added_ns VARIANT: (t_variant - t_plain) / ncalls at the same steps, in ns.
added_ns() {
	awk -v t="$(median "$1")" -v p="$(median "$(reference "$1")")" \
		-v n="$(ncalls_of "$(steps_of "$1")")" 'BEGIN { printf "%.2f", (t - p) * 1e9 / n }'
}
# slope_ns VARIANT [COLUMN]: the same with each side's 1-step run
# subtracted first, so per call means per call, not start-up spread over
# the calls; from the times' COLUMN (1, wall, by default; 2, CPU).
slope_ns() {
	local ref c=${2:-1}
	ref=$(reference "$1")
	awk -v t="$(median "$1" full "$c")" -v t1="$(median "$1" one "$c")" \
		-v p="$(median "$ref" full "$c")" -v p1="$(median "$ref" one "$c")" \
		-v n="$(ncalls_of "$(steps_of "$1")")" -v n1="$(ncalls_of 1)" \
		'BEGIN { printf "%.2f", ((t - t1) - (p - p1)) * 1e9 / (n - n1) }'
}

# print_table: one row per variant, medians and per-call figures.
print_table() {
	local v ref steps added clean
	printf '%-34s %8s %9s %8s %7s %9s %9s %9s\n' variant steps calls median_s cpu_s slowdown \
		added_ns no_start
	for v in "${VARIANTS[@]}"; do
		ref=$(reference "$v")
		steps=$(steps_of "$v")
		if [ "$v" = "$ref" ]; then
			added=- clean=-
		else
			added=$(added_ns "$v") clean=$(slope_ns "$v")
		fi
		printf '%-34s %8s %9s %8.4f %7.3f %8.2fx %9s %9s\n' "$(label "$v")" "$steps" \
			"$(ncalls_of "$steps")" "$(median "$v")" "$(median "$v" full 2)" \
			"$(awk -v t="$(median "$v")" -v p="$(median "$ref")" 'BEGIN { print t / p }')" \
			"$added" "$clean"
	done
}

# per_round VARIANT: slope_ns of each round alone, one a line in round
# order: bench_rounds runs every variant once a round, so line r of each
# file is round r (columns: wall and CPU of each of the four files).
per_round() {
	local ref
	ref=$(reference "$1")
	paste "$TIMES/$(slug "$1").full" "$TIMES/$(slug "$1").one" "$TIMES/$(slug "$ref").full" \
		"$TIMES/$(slug "$ref").one" |
		awk -v n="$(ncalls_of "$(steps_of "$1")")" -v n1="$(ncalls_of 1)" \
			'{ printf "%.4f\n", (($1 - $3) - ($5 - $7)) * 1e9 / (n - n1) }'
}

# check TEXT OP: the verdict on a target, from stdin's "ACTUAL LIMIT"
# lines, one a round, in ns (a limit taken from the same round's
# references). It is on the rounds' margins (ACTUAL - LIMIT): the median
# margin, and the widest order-statistic interval that holds the true
# median with at least 90% whatever the noise's shape (5 rounds: the
# smallest and largest margin, 94%). PASS when the whole interval meets
# the target, FAIL when none of it does, NOISE otherwise: the rounds
# disagree more than the target's margin, and a figure printed alone
# would be a coin toss (a run of 2026-12-03 printed PASS for -1.79 ns).
check() {
	awk -v text="$1" -v op="$2" '
	function median(v, m) { return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2 }
	function sort(v, m,   i, j, t) {
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	}
	{ a[NR] = $1; l[NR] = $2; d[NR] = $1 - $2 }
	END {
		n = NR
		sort(a, n); sort(l, n); sort(d, n)
		# Coverage of [d(k), d(n + 1 - k)]: 1 - 2 P(Binomial(n, 1/2) < k).
		k = 0; below = 0; term = 1	# term: C(n, i) / 2^n
		for (i = 0; i < n; i++) term /= 2
		for (i = 0; 2 * (i + 1) <= n; i++) {
			below += term
			if (1 - 2 * below < 0.90) break
			k = i + 1; cover = 1 - 2 * below
			term = term * (n - i) / (i + 1)
		}
		if (k == 0) {
			verdict = "NOISE"
			why = sprintf("%d rounds: too few for a 90%% interval, run BENCH_ROUNDS=5 or more", n)
		} else {
			lo = d[k]; hi = d[n + 1 - k]
			if (op == "<=") { pass = hi <= 0; fail = lo > 0 } else { pass = hi < 0; fail = lo >= 0 }
			verdict = pass ? "PASS" : fail ? "FAIL" : "NOISE"
			why = sprintf("%d rounds: margin %+.2f ns, %.0f%% interval %+.2f to %+.2f", n,
				median(d, n), 100 * cover, lo, hi)
		}
		printf "%-5s %s: %.2f ns %s %.2f ns (%s)\n", verdict, text, median(a, n), op,
			median(l, n), why
	}'
}
