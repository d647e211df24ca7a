'use strict';
// Baseline: npm natural's BayesClassifier. Usage: node natural-bayes.js <dir> <dataset>
// Reads <dataset>_train.jsonl and <dataset>_test.jsonl and prints accuracy, macro-F1 and predictions/s.
const path = require('path');
const natural = require('natural');
const { readJsonLines } = require('./common');

const [dir, dataset] = process.argv.slice(2);
const train = readJsonLines(path.join(dir, `${dataset}_train.jsonl`));
const test = readJsonLines(path.join(dir, `${dataset}_test.jsonl`));

const classifier = new natural.BayesClassifier();
const trainStart = process.hrtime.bigint();
for (const e of train) classifier.addDocument(e.text, e.label);
classifier.train();
const trainSeconds = Number(process.hrtime.bigint() - trainStart) / 1e9;

const start = process.hrtime.bigint();
const predicted = test.map(e => classifier.classify(e.text));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;

let correct = 0;
const labels = new Set(test.map(e => e.label));
const tp = {}, fp = {}, fn = {};
for (const l of labels) { tp[l] = 0; fp[l] = 0; fn[l] = 0; }
test.forEach((e, i) => {
  if (predicted[i] === e.label) { correct++; tp[e.label]++; }
  else { fn[e.label]++; if (predicted[i] in fp) fp[predicted[i]]++; }
});
let f1Sum = 0;
for (const l of labels) {
  const p = tp[l] + fp[l] === 0 ? 0 : tp[l] / (tp[l] + fp[l]);
  const r = tp[l] + fn[l] === 0 ? 0 : tp[l] / (tp[l] + fn[l]);
  f1Sum += p + r === 0 ? 0 : (2 * p * r) / (p + r);
}
console.log(JSON.stringify({
  tool: 'natural@8.1.1 BayesClassifier', node: process.version, dataset,
  train: train.length, test: test.length,
  accuracy: correct / test.length, macro_f1: f1Sum / labels.size,
  train_seconds: trainSeconds, predictions_per_second: test.length / seconds,
}));
