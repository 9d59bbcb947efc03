#!/usr/bin/env bash
# Renders a report in headless Chromium at 1280 px wide: writes a screenshot, and fails if any
# two text labels of a chart overlap or a label sticks out of its chart.
# Usage: scripts/ci/report-check.sh [REPORT.html] [SCREENSHOT.png]
#        (defaults: results/report/report.html, report.png beside it)
# Installs Chromium with apt-get when it is missing and this runs as root.
set -euo pipefail
report=${1:-results/report/report.html}
shot=${2:-$(dirname "$report")/report.png}
[ -f "$report" ] || { echo "report-check: $report not found" >&2; exit 2; }

chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "report-check: installing chromium (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    chrome=$(command -v chromium)
  else
    echo "report-check: needs chromium (apt-get install chromium)" >&2
    exit 2
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A copy of the page with a checker added at the end of the body. It measures every label as
# Chromium lays it out and writes what it finds into an attribute of <body>.
cat >"$tmp/check.js" <<'JS'
(function () {
  var problems = [], labels = 0;
  document.querySelectorAll('svg').forEach(function (svg, k) {
    var box = svg.getBoundingClientRect();
    var texts = Array.prototype.slice.call(svg.querySelectorAll('text')).filter(function (t) {
      return t.textContent.trim() !== '';
    });
    var rects = texts.map(function (t) { return t.getBoundingClientRect(); });
    labels += texts.length;
    for (var i = 0; i < rects.length; i++) {
      var a = rects[i];
      if (a.left < box.left - 1 || a.right > box.right + 1 || a.top < box.top - 1 || a.bottom > box.bottom + 1) {
        problems.push('chart ' + k + ': "' + texts[i].textContent + '" outside the chart');
      }
      for (var j = i + 1; j < rects.length; j++) {
        var b = rects[j];
        var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) {
          problems.push('chart ' + k + ': "' + texts[i].textContent + '" overlaps "' + texts[j].textContent + '"');
        }
      }
    }
  });
  document.body.setAttribute('data-labels', String(labels));
  document.body.setAttribute('data-problems', JSON.stringify(problems));
})();
JS
{
  sed 's#</body>##; s#</html>##' "$report"
  printf '<script>\n'
  cat "$tmp/check.js"
  printf '</script>\n</body>\n</html>\n'
} >"$tmp/page.html"

flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1)
"$chrome" "${flags[@]}" --window-size=1280,1000 --virtual-time-budget=5000 \
  --dump-dom "file://$tmp/page.html" 2>/dev/null >"$tmp/dom.html"
labels=$(grep -o 'data-labels="[0-9]*"' "$tmp/dom.html" | grep -o '[0-9]*' || true)
problems=$(grep -o 'data-problems="[^"]*"' "$tmp/dom.html" | sed 's/^data-problems="//; s/"$//; s/&quot;/"/g' || true)
if [ -z "$labels" ]; then
  echo "report-check: the checker did not run" >&2
  exit 1
fi
"$chrome" "${flags[@]}" --window-size=1280,2400 --screenshot="$shot" "file://$(realpath "$report")" 2>/dev/null
echo "report-check: $labels labels measured at 1280 px; screenshot $shot"
if [ "$problems" != "[]" ]; then
  echo "report-check: overlapping or clipped labels: $problems" >&2
  exit 1
fi
