#!/usr/bin/env bash
# `orrery report`: a real `orrery sweep` (with a budget) fills a database;
# the table lists its runs and points; the CSV parses with the documented
# columns; the HTML renders in headless Chromium with the chart points,
# error bars, budget line and the topology SVG in its DOM, and its
# screenshot is a non-trivial PNG; the HTML is byte-stable; text from the
# database is escaped; a scenario that is gone becomes a note; bad input
# exits 2 and writes nothing.
#
# Needs Chromium (scripts/deps.sh installs Debian's `chromium`); without it
# the test fails, it does not skip. ORRERY_REPORT_SCREENSHOT=PATH copies the
# screenshot there (that is how docs/img/report-sweep.png is made).
. "$(dirname "$0")/lib.sh"

# Graphviz and fontconfig caches are not our leaks (see graph.sh).
printf 'leak:%s\n' libgvc.so libgvplugin_ libfontconfig.so libpango libcairo \
  libglib libgobject > "$WORK/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$WORK/lsan.supp:print_suppressions=0"
unset ORRERY_DB

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROMIUM" ]; then
  fail "chromium is not installed (scripts/deps.sh installs it); the HTML report cannot be checked"
fi
# chromium URL [ARGS...]: headless, fresh profile, bounded time
chrome() {
  local url=$1; shift
  HOME="$WORK/chrome-home" timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --no-default-browser-check --disable-extensions \
    --user-data-dir="$WORK/chrome-profile.$RANDOM" "$@" "$url" 2>/dev/null
}

# --- a database: two sweeps and a plain run --------------------------------
mkdir -p scen/presets
cp "$SRC/scenarios/presets/lan-switch.yaml" scen/presets/
cp "$SRC/scenarios/incast.yaml" scen/incast.yaml
cat >> scen/incast.yaml <<'EOF'
budgets:
  sink0.latency.p99: "<= 4500ns"
EOF
"$ORRERY" sweep scen/incast.yaml --db r.db -j 2 -q --repeat 2 \
  --axis links.6.latency=200ns..600ns:200ns --axis components.sw0.queue=8KiB,16KiB > sweep1.out 2>&1
[ "$(sqlite3 r.db 'SELECT count(*) FROM sweep_points WHERE sweep_id = 1 AND run_id IS NOT NULL')" = 12 ] &&
  pass || { fail "sweep 1 did not store 12 runs:"; cat sweep1.out >&2; }
"$ORRERY" sweep scen/incast.yaml --db r.db -j 2 -q --axis components.s5.pattern=poisson,constant \
  > sweep2.out 2>&1
[ "$(sqlite3 r.db 'SELECT count(*) FROM sweep_points WHERE sweep_id = 2 AND run_id IS NOT NULL')" = 2 ] &&
  pass || { fail "sweep 2 did not store 2 runs:"; cat sweep2.out >&2; }
"$ORRERY" run scen/incast.yaml --db r.db -q --set stop.duration=1ms >/dev/null 2>&1
LAST=$(sqlite3 r.db 'SELECT max(id) FROM runs')

# --- table -----------------------------------------------------------------
expect_exit 0 "table of sweep 1" -- "$ORRERY" report --db r.db --sweep 1
expect_out 'runs \(12\)' "table counts the sweep's runs"
for id in 1 2 3 4 5 6 7 8 9 10 11 12; do
  grep -qE "^ +$id +scen/incast.yaml +ok +[0-9]+ +links.6.latency=" <<< "$OUT" && pass ||
    fail "table of sweep 1 has no row for run $id"
done
expect_out 'point +links.6.latency +components.sw0.queue +status +n +sink0.latency.p99 \(us\)' \
  "points table: axes and the budget metric"
[ "$(grep -cE '^ +[0-5] +[246]00ns +(8|16)KiB ' <<< "$OUT")" = 6 ] && pass ||
  fail "points table does not have 6 points"
expect_out 'budget sink0.latency.p99 <= 4500ns' "table names the budget"
expect_exit 0 "table of runs" -- "$ORRERY" report --db r.db --run 1,3 --run "$LAST"
expect_out 'runs \(3\)' "--run 1,3 --run N selects three runs"
expect_out "^run $LAST  scen/incast.yaml" "per-run metric table"
expect_out 'sink0 +rx_packets' "per-run table lists metrics"
expect_exit 0 "default selection" -- "$ORRERY" report --db r.db
expect_out 'runs \(10\)' "the newest run is no sweep's: the last 10 runs"
expect_exit 0 "\$ORRERY_DB" -- env ORRERY_DB=r.db "$ORRERY" report --last 1
expect_out 'runs \(1\)' "--last 1"

# --- CSV -------------------------------------------------------------------
# csv_check FILE NCOLS_MIN: every row has the header's column count; prints rows
csv_rows() {
  python3 - "$1" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
assert rows, "empty"
n = len(rows[0])
bad = [i for i, r in enumerate(rows) if len(r) != n]
if bad:
    print("BAD", bad[:5]); sys.exit(1)
print(len(rows) - 1)
EOF
}
expect_exit 0 "csv of sweep 1" -- "$ORRERY" report --db r.db --sweep 1 --format csv -o s1.csv
head -1 s1.csv | grep -qx 'sweep_id,point,links.6.latency,components.sw0.queue,status,runs,n,metric,component,name,unit,mean,min,max,stddev,budget' &&
  pass || fail "sweep CSV header: $(head -1 s1.csv)"
nmetric=$(sqlite3 r.db 'SELECT count(*) FROM metrics WHERE run_id = 1')
rows=$(csv_rows s1.csv) && [ "$rows" = $((6 * nmetric)) ] && pass ||
  fail "sweep CSV: $rows rows, expected 6 points x $nmetric metrics"
"$ORRERY" report --db r.db --sweep 1 --format csv --metric sink0.latency.p99 > p99.csv
python3 - p99.csv <<'EOF' && pass || fail "p99 CSV rows are wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
assert len(rows) == 6, len(rows)
for r in rows:
    assert r['metric'] == 'sink0.latency.p99' and r['unit'] == 'ps' and r['n'] == '2', r
    assert float(r['min']) <= float(r['mean']) <= float(r['max']), r
    assert r['budget'] == '<= 4500ns', r
EOF
expect_exit 0 "csv of a run" -- "$ORRERY" report --db r.db --run 1 --format csv -o r1.csv
rows=$(csv_rows r1.csv) && [ "$rows" = "$nmetric" ] && pass ||
  fail "run CSV: $rows rows, expected $nmetric"
head -1 r1.csv | grep -qx 'run_id,scenario,status,seed,overrides,metric,component,name,unit,value' &&
  pass || fail "run CSV header: $(head -1 r1.csv)"
grep -q '^1,scen/incast.yaml,ok,[0-9]*,links.6.latency=[0-9]*ns;components.sw0.queue=[0-9]*KiB,sink0.rx_packets,' r1.csv &&
  pass || fail "run CSV rows lack the run's identity"

# --- HTML ------------------------------------------------------------------
expect_exit 0 "html of sweep 1" -- "$ORRERY" report --db r.db --sweep 1 -o report.html
[ -s report.html ] && ! ls report.html.tmp* >/dev/null 2>&1 && pass || fail "report.html missing or .tmp left"
grep -qiE '<script|<link|src=' report.html && fail "report.html loads something" || pass
grep -oE 'https?://[^"'"'"' )<]+' report.html | grep -vE '^http://www\.w3\.org/' | grep -q . &&
  fail "report.html names an external URL: $(grep -oE 'https?://[^" )<]+' report.html | grep -v w3.org | head -1)" || pass
"$ORRERY" report --db r.db --sweep 1 -o report2.html
cmp -s report.html report2.html && pass || fail "the same DB gives different HTML"
# every inline SVG is well-formed XML
python3 - report.html <<'EOF' && pass || fail "an SVG in report.html is not well-formed"
import re, sys, xml.etree.ElementTree as E
html = open(sys.argv[1]).read()
svgs = re.findall(r'<svg.*?</svg>', html, re.S)
assert len(svgs) == 2, len(svgs)   # one chart (the budget metric) + the topology
for s in svgs:
    E.fromstring(s)
EOF

if [ -n "$CHROMIUM" ]; then
  chrome "file://$WORK/report.html" --dump-dom > dom.html
  [ -s dom.html ] && pass || fail "chromium --dump-dom printed nothing"
  [ "$(grep -o '<svg class="chart"' dom.html | wc -l)" = 1 ] && pass ||
    fail "DOM: expected 1 chart (the budget metric)"
  [ "$(grep -o 'class="pt"' dom.html | wc -l)" = 6 ] && pass || fail "DOM: expected 6 chart points"
  [ "$(grep -o 'class="err"' dom.html | wc -l)" -ge 2 ] && pass || fail "DOM: no error bars"
  grep -q '<line class="budget"' dom.html && pass || fail "DOM: no budget line"
  grep -q '<polyline class="mean"' dom.html && pass || fail "DOM: no series line"
  grep -q '>links.6.latency (ns)<' dom.html && pass || fail "DOM: x axis title with its unit"
  grep -q '>latency.p99 (us)<' dom.html && pass || fail "DOM: y axis title with its unit"
  # the topology: Graphviz SVG with one node per component of incast
  python3 - dom.html <<'EOF' && pass || fail "DOM: the topology SVG is missing or incomplete"
import re, sys
html = open(sys.argv[1]).read()
sec = html[html.index('id="topology"'):]
svg = sec[sec.index('<svg'):sec.index('</svg>')]
assert svg.count('class="node"') == 9, svg.count('class="node"')
for name in ('sw0', 'sink0', 's5'):
    assert '>%s</text>' % name in svg, name
EOF
  chrome "file://$WORK/report.html" --window-size=1200,1700 --hide-scrollbars \
    --screenshot="$WORK/report.png" >/dev/null
  python3 - report.png <<'EOF' && pass || fail "report.png is not a valid, non-trivial PNG"
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', "signature"
assert len(data) > 20000, "only %d bytes" % len(data)
pos, idat, hdr = 8, b'', None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR': hdr = struct.unpack('>IIBBBBB', body)
    if kind == b'IDAT': idat += body
    pos += 12 + n
w, h, depth, ctype = hdr[:4]
assert depth == 8 and ctype in (2, 6), hdr
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, off = bytearray(stride), [], 0
for y in range(h):
    f, line = raw[off], bytearray(raw[off + 1:off + 1 + stride]); off += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
colours, ink = set(), 0
for line in rows[::4]:
    for x in range(0, stride, bpp * 4):
        px = bytes(line[x:x + 3]); colours.add(px); ink += px != b'\xff\xff\xff'
total = len(rows[::4]) * len(range(0, stride, bpp * 4))
assert len(colours) > 16, "%d colours" % len(colours)
assert ink > total // 50, "%d of %d pixels are not white" % (ink, total)
EOF
  if [ -n "${ORRERY_REPORT_SCREENSHOT:-}" ] && [ -s report.png ]; then
    cp report.png "$ORRERY_REPORT_SCREENSHOT"
  fi
fi

# two metrics chosen, x = the other axis: two charts, 12 points, two series each
expect_exit 0 "html --metric x2 --x" -- "$ORRERY" report --db r.db --sweep 1 -o two.html \
  --metric sink0.latency.p99 --metric sw0.drops_queue_full --x queue
[ "$(grep -o '<svg class="chart"' two.html | wc -l)" = 2 ] && pass || fail "--metric x2: 2 charts"
[ "$(grep -o 'class="pt"' two.html | wc -l)" = 12 ] && pass || fail "--metric x2: 12 points"
grep -q '>components.sw0.queue (KiB)<' two.html && pass || fail "--x queue: x axis is the queue"
grep -q '>links.6.latency=400ns<' two.html && pass || fail "--x queue: a series per latency"
# a categorical axis
expect_exit 0 "html of a categorical sweep" -- "$ORRERY" report --db r.db --sweep 2 -o cat.html \
  --metric sink1.rx_packets
grep -q 'text-anchor="middle">poisson</text>' cat.html && grep -q 'text-anchor="middle">constant</text>' cat.html &&
  pass || fail "categorical axis labels"
# the runs of no sweep: tables, no charts
expect_exit 0 "html of runs" -- "$ORRERY" report --db r.db --last 3 -o runs.html
grep -q '<svg class="chart"' runs.html && fail "runs report has charts" || pass
grep -q "id=\"run-$LAST\"" runs.html && pass || fail "runs report lacks run $LAST's tables"
grep -q '<th>p99.9</th>' runs.html && pass || fail "runs report lacks histogram summaries"

# escaping: text from the database is data, not markup
cp r.db esc.db
sqlite3 esc.db "UPDATE runs SET scenario = 'a<b>&\"c''' WHERE id = $LAST;
  UPDATE metrics SET component = '<i>x</i>' WHERE run_id = $LAST AND name = 'rx_packets';"
expect_exit 0 "html with markup in the DB" -- "$ORRERY" report --db esc.db --run "$LAST" -o esc.html
grep -q 'a&lt;b&gt;&amp;&quot;c&#39;' esc.html && pass || fail "scenario text not escaped"
grep -q '&lt;i&gt;x&lt;/i&gt;' esc.html && pass || fail "component text not escaped"
grep -q '<i>x</i>\|a<b>' esc.html && fail "raw markup from the DB in the page" || pass
python3 -c 'import sys,html.parser; html.parser.HTMLParser().feed(open(sys.argv[1]).read())' esc.html &&
  pass || fail "esc.html does not parse"

# the scenario changed since the runs: drawn as it is now, with a note
cp scen/incast.yaml incast.saved
sed -i 's/count: 2000, dests: \[sink0\]}/count: 1999, dests: [sink0]}/' scen/incast.yaml
expect_exit 0 "html when the scenario changed" -- "$ORRERY" report --db r.db --sweep 1 -o changed.html
grep -q 'The scenario has changed since run' changed.html && pass || fail "no note about the change"
grep -q 'class="node"' changed.html && pass || fail "no topology for a changed scenario"
grep -q 'has changed' report.html && fail "a note about a change that did not happen" || pass
cp incast.saved scen/incast.yaml

# the scenario file is gone: the report says so instead of failing
mv scen/incast.yaml scen/moved.yaml
expect_exit 0 "html when the scenario is gone" -- "$ORRERY" report --db r.db --sweep 1 -o gone.html
grep -q 'is not there any more' gone.html && pass || fail "no note about the missing scenario"
grep -q 'class="node"' gone.html && fail "a topology drawn from nowhere" || pass
mv scen/moved.yaml scen/incast.yaml

# --- bad input: exit 2, a clear message, nothing written -------------------
expect_exit 2 "missing DB" -- "$ORRERY" report --db nosuch.db -o bad1.html
expect_out "nosuch.db' does not exist" "missing DB is named"
[ ! -e nosuch.db ] && pass || fail "report created the missing DB"
: > empty.db
expect_exit 2 "empty DB file" -- "$ORRERY" report --db empty.db -o bad2.html
expect_out 'no runs in DB' "empty DB file"
sqlite3 norows.db 'CREATE TABLE runs(id INTEGER PRIMARY KEY)'
expect_exit 2 "DB without runs" -- "$ORRERY" report --db norows.db
expect_out 'no runs in DB' "DB without runs"
echo 'not a database, just text that is long enough to have a header' > text.db
expect_exit 2 "not a database" -- "$ORRERY" report --db text.db
expect_out 'text.db' "not-a-database names the file"
expect_exit 2 "unknown sweep" -- "$ORRERY" report --db r.db --sweep 99 -o bad3.html
expect_out 'no sweep 99' "unknown sweep is named"
expect_exit 2 "unknown run" -- "$ORRERY" report --db r.db --run 1,999
expect_out 'no run 999' "unknown run is named"
expect_exit 2 "unknown metric" -- "$ORRERY" report --db r.db --sweep 1 --metric sink0.latency.p98 -o bad4.html
expect_out "no metric 'sink0.latency.p98'" "unknown metric is named"
expect_out "did you mean 'sink0.latency.p9" "unknown metric: a suggestion"
expect_out 'nearest: .*sink0.latency.p99' "unknown metric: the nearest names"
expect_exit 2 "unknown axis" -- "$ORRERY" report --db r.db --sweep 1 --x nosuch
expect_out "no axis 'nosuch' \(axes: links.6.latency, components.sw0.queue\)" "unknown axis lists the axes"
expect_exit 2 "--x on runs" -- "$ORRERY" report --db r.db --run 1 --x queue
cp r.db newer.db && sqlite3 newer.db 'PRAGMA user_version = 99'
expect_exit 2 "newer schema" -- "$ORRERY" report --db newer.db
expect_out 'schema version 99; this orrery understands 2' "newer schema"
expect_exit 2 "bad --format" -- "$ORRERY" report --db r.db --format pdf
expect_exit 2 "two selections" -- "$ORRERY" report --db r.db --sweep 1 --run 2
expect_exit 2 "--last 0" -- "$ORRERY" report --db r.db --last 0
expect_exit 2 "bad run id" -- "$ORRERY" report --db r.db --run 1,x
expect_exit 2 "stray argument" -- "$ORRERY" report --db r.db extra
expect_exit 2 "unwritable output" -- "$ORRERY" report --db r.db -o nodir/x.html
ls bad* nodir 2>/dev/null | grep -q . && fail "bad input left files: $(ls bad* 2>/dev/null)" || pass
expect_exit 0 "--help" -- "$ORRERY" report --help
expect_out '--metric NAME' "help documents --metric"

finish
