'use strict';
// Shared by the baseline scripts: read the JSON-lines files that `Closeloop.Text.Bench eval` writes, so both
// sides see exactly the same texts and splits.
const fs = require('fs');

function readJsonLines(path) {
  return fs.readFileSync(path, 'utf8').split('\n').filter(l => l.length > 0).map(l => JSON.parse(l));
}

function pearson(xs, ys) {
  const n = xs.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += xs[i]; my += ys[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx, dy = ys[i] - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

module.exports = { readJsonLines, pearson };
