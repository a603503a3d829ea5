// Compares two outputs of types-probe.ts (uvsql, Bun.SQL): prints each query whose results differ.
const [a, b] = process.argv.slice(2).map((f) => require(require('path').resolve(f)))
let n = 0
for (const k of Object.keys(b)) {
  const x = JSON.stringify(a[k])
  const y = JSON.stringify(b[k])
  if (x === y) continue
  n++
  console.log(`## ${k}\n uvsql: ${x}\n bun:   ${y}`)
}
console.log(`${n} of ${Object.keys(b).length} results differ`)
