'use strict'
// JSON documents whose decoded value must equal JSON.parse's: flat objects with awkward keys
// and numbers (a decoder that builds objects itself must match JSON.parse on them: ROWS.md
// "g4"), and documents with escapes, nesting, non-ASCII keys or too many keys. Shared by the
// PostgreSQL and MySQL tests.

const assert = require('node:assert')

const manyKeys = (n) => '{' + Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',') + '}'

const DOCS = [
  '{}',
  ' { } ',
  '{"a":1}',
  '\n{"a"\t:\r1 , "b" : "x" }\n',
  '{"a":-0,"b":-0.0,"c":0e5,"d":1e400,"e":-1e400,"f":123456789012345678901234567890,"g":0.1}',
  '{"h":1.7976931348623157e308,"i":5e-324,"j":2.5E-3,"k":-12.5e+2,"l":9007199254740993,"m":0.30000000000000004}',
  '{"n":null,"t":true,"f":false,"s":"","z":0}',
  '{"s":"é✓𝄞","t":" spaces ","u":"\u007f"}',
  '{"__proto__":1,"b":2}',
  '{"__proto__":{"x":1}}',
  '{"2":"two","1":"one","a":"A","0":"zero"}',
  '{"a":1,"b":2,"a":3}',
  '{"constructor":1,"toString":"x","hasOwnProperty":null,"valueOf":false}',
  '{"esc":"a\\"b","t":"\\n"}',
  '{"k\\u0041":1}',
  '{"é":1}',
  '{"arr":[1,2],"x":1}',
  '{"deep":{"x":{}}}',
  '[1,2]',
  '"str"',
  '3',
  'null',
  'true',
  manyKeys(32),
  manyKeys(33),
]

// The decoded value against JSON.parse of the same text: deep equality, own key order,
// prototype, and -0 kept apart from 0.
function assertSameAsParse(got, text, what) {
  const want = JSON.parse(text)
  assert.deepStrictEqual(got, want, what)
  if (want !== null && typeof want === 'object') {
    assert.deepStrictEqual(Reflect.ownKeys(got), Reflect.ownKeys(want), `${what}: key order`)
    assert.strictEqual(Object.getPrototypeOf(got), Object.getPrototypeOf(want), `${what}: prototype`)
    for (const k of Reflect.ownKeys(want)) {
      assert.ok(Object.is(got[k], want[k]) || typeof want[k] === 'object', `${what}: ${String(k)}`)
    }
  }
}

module.exports = { DOCS, assertSameAsParse }
