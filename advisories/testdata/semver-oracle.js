// Reads lines `a<TAB>b` on stdin, prints `semver.compare(a, b)` (-1, 0, 1)
// or `err` when node-semver rejects either version, one line per pair.
// `semver` is resolved from NODE_PATH (see generate-vectors.sh).
'use strict'
const semver = require('semver')
const input = require('fs').readFileSync(0, 'utf8')
const out = []
for (const line of input.split('\n')) {
  if (line === '') continue
  const [a, b] = line.split('\t')
  try {
    out.push(String(semver.compare(a, b)))
  } catch (e) {
    out.push('err')
  }
}
process.stdout.write(out.join('\n') + '\n')
