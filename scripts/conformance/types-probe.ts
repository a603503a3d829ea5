// Differential probe of PostgreSQL types (docs/CONFORMANCE.md): the shapes sql.test.ts's scalar
// and array-type sections use, through uvsql (UVSQL_ROOT) or, with NATIVE=1, Bun's own Bun.SQL,
// printed as signatures (JSON with constructor names). types-diff.js compares two outputs.
//   bun types-probe.ts > uv.json; NATIVE=1 bun types-probe.ts > bun.json; node types-diff.js uv.json bun.json
const S = process.env.NATIVE ? Bun.SQL : require(process.env.UVSQL_ROOT || '/work/main').SQL;
const sql = new S({ url: process.env.DATABASE_URL, max: 1 });
const types: Record<string, string[]> = {
  bytea: [`'\\x41424344'`, `'\\x'`], char: [`'A'`, `'$'`], '"char"': [`'A'`, `'z'`], name: [`'test.name'`, `'n1'`], text: [`'a,b'`, `'with "quote"'`, `'{}'`, `'NULL'`, `''`],
  varchar: [`'x y'`, `'ü'`], bpchar: [`'ab'`], int2: ['1', '-32768'], int4: ['1', '2147483647'], int8: ['1', '9223372036854775807'],
  oid: ['1', '4294967295'], float4: ['1.5', `'NaN'`, `'Infinity'`, '3.4028235e38'], float8: ['1.5', `'-Infinity'`, '1e308', '0.1'],
  numeric: ['1.50', `'NaN'`, '123456789012345678901234567890.123'], bool: ['true', 'false'], date: [`'2024-01-15'`, `'infinity'`, `'0001-01-01 BC'`],
  time: [`'12:34:56.789'`], timetz: [`'12:34:56+02'`], timestamp: [`'2024-01-15 12:34:56.789'`, `'-infinity'`], timestamptz: [`'2024-01-15 12:34:56.789+00'`],
  interval: [`'1 day 2 hours'`, `'-1 year'`], uuid: [`'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`], json: [`'{"a":1}'`, `'[1,2]'`, `'"s"'`], jsonb: [`'{"a":[1,{"b":null}]}'`, `'3'`],
  inet: [`'192.168.1.1'`, `'::1/128'`], cidr: [`'10.0.0.0/8'`], macaddr: [`'08:00:2b:01:02:03'`], macaddr8: [`'08:00:2b:01:02:03:04:05'`],
  point: [`'(1,2)'`], lseg: [`'[(1,2),(3,4)]'`], box: [`'(3,4),(1,2)'`], path: [`'[(1,2),(3,4)]'`], polygon: [`'((1,2),(3,4),(5,6))'`], line: [`'{1,2,3}'`], circle: [`'<(1,2),3>'`],
  money: [`'12.34'`], bit: [`B'1'`], varbit: [`B'101'`], xml: [`'<a>1</a>'`], tsvector: [`'a fat cat'`], tsquery: [`'fat & rat'`],
  int4range: [`'[1,5)'`], numrange: [`'(1.5,2.5]'`], tsrange: [`'[2024-01-01,2024-02-01)'`], daterange: [`'[2024-01-01,2024-02-01)'`],
  int2vector: [`'1 2'`], oidvector: [`'1 2'`], regclass: [`'pg_class'`], regtype: [`'int4'`], pg_lsn: [`'16/B374D848'`], cid: [`'1'`], xid: [`'1'`], tid: [`'(0,1)'`],
};
const sig = (v: any): any => {
  if (v === null || v === undefined) return v === null ? null : '<undef>';
  if (Array.isArray(v)) return v.map(sig);
  if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Array.from(v as any, (x: any) => typeof x === 'bigint' ? x.toString() + 'n' : x) };
  if (v instanceof Date) return { Date: isNaN(+v) ? 'Invalid' : v.toISOString() };
  if (typeof v === 'bigint') return v.toString() + 'n';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isFinite(v) ? v : String(v);
  if (typeof v === 'object') return { [v.constructor?.name ?? 'Object']: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sig(x)])) };
  return v;
};
const out: Record<string, any> = {};
const run = async (label: string, q: () => any) => { try { const r = await q(); out[label] = sig([...r].map(x => ({ ...x }))); } catch (e: any) { out[label] = 'ERR ' + e.code + ' ' + e.message; } };
for (const [t, vals] of Object.entries(types)) {
  const cols = vals.map((v, i) => `${v}::${t} as c${i}`).join(', ');
  await run(`${t} scalar text`, () => sql.unsafe(`select ${cols}, null::${t} as n`));
  await run(`${t} scalar binary`, () => sql.unsafe(`select ${cols}, null::${t} as n, $1::int as p`, [1]));
  await run(`${t} scalar values()`, () => sql.unsafe(`select ${cols}, $1::int as p`, [1]).values());
  const lit = vals.map(v => `${v}::${t}`).join(', ');
  await run(`${t} empty`, () => sql.unsafe(`select array[]::${t}[] as a, null::${t}[] as n`));
  await run(`${t} values`, () => sql.unsafe(`select array[${lit}, null]::${t}[] as a`));
  await run(`${t} values param`, () => sql.unsafe(`select array[${lit}, null]::${t}[] as a, $1::int as p`, [1]));
  await run(`${t} no null param`, () => sql.unsafe(`select array[${lit}]::${t}[] as a, $1::int as p`, [1]));
  await run(`${t} 2d`, () => sql.unsafe(`select array[array[${vals[0]}::${t}, null], array[${vals[0]}::${t}, ${vals[0]}::${t}]] as a`));
  await run(`${t} elem+unnest`, () => sql.unsafe(`select (array[${lit}]::${t}[])[1] as e, x from unnest(array[${lit}]::${t}[]) x`));
  await run(`${t} agg`, () => sql.unsafe(`select array_agg(x) as g from unnest(array[${lit}]::${t}[]) x`));
}
console.log(JSON.stringify(out, null, 1));
await sql.close();
