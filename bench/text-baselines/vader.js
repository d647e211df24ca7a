'use strict';
// Baseline: npm vader-sentiment. Usage: node vader.js <dir written by the C# eval>
// Prints one JSON object: Pearson r on the two ground-truth sets and comments/s on comments.jsonl.
const path = require('path');
const vader = require('vader-sentiment');
const { readJsonLines, pearson } = require('./common');

const dir = process.argv[2];
const result = { tool: 'vader-sentiment@1.1.3', node: process.version };

for (const name of ['tweets', 'snippets']) {
  const rows = readJsonLines(path.join(dir, `vader_${name}.jsonl`));
  const scores = rows.map(r => vader.SentimentIntensityAnalyzer.polarity_scores(r.text).compound);
  result[`pearson_${name}`] = pearson(scores, rows.map(r => r.score));
  // The half the shipped Closeloop model never saw, for a like-for-like figure.
  const held = rows.map((r, i) => [r, scores[i]]).filter(([r]) => r.heldOut);
  result[`pearson_${name}_heldout`] = pearson(held.map(([, s]) => s), held.map(([r]) => r.score));
}

const comments = readJsonLines(path.join(dir, 'comments.jsonl')).map(r => r.text);
// Warm up the JIT on the same work, then time the best of three passes, as the C# side does.
for (let i = 0; i < 2000; i++) vader.SentimentIntensityAnalyzer.polarity_scores(comments[i % comments.length]);
let best = Infinity;
let checksum = 0;
for (let pass = 0; pass < 3; pass++) {
  const start = process.hrtime.bigint();
  for (const c of comments) checksum += vader.SentimentIntensityAnalyzer.polarity_scores(c).compound;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  best = Math.min(best, seconds);
}
result.comments = comments.length;
result.comments_per_second = comments.length / best;
result.checksum = checksum;
console.log(JSON.stringify(result));
