// Copies $CONF_DIR/bun/*.ts to $CONF_DIR/run/ with Bun's SQL swapped for uvsql (CONF_DIR: default /tmp/conf).
const fs = require('fs'), path = require('path')
const native = process.env.CONF_NATIVE === '1' // Bun's own Bun.SQL, for the reference run
const dir = process.env.CONF_DIR || '/tmp/conf'
const src = dir + '/bun', dst = dir + (native ? '/run-native' : process.env.CONF_UV ? '/run-base' : '/run')
const UV = process.env.CONF_UV || (process.env.UVSQL_ROOT || '/work/main') + '/lib/index.js' // CONF_UV=<checkout>/lib/index.js: another build
const SQL_NAMES = new Set(['SQL', 'sql', 'postgres'])
for (const f of fs.readdirSync(src)) {
  let s = fs.readFileSync(path.join(src, f), 'utf8')
  if (!native) s = s.replace(/import\s*\{([^}]*)\}\s*from\s*["']bun["'];?/g, (m, names) => {
    const all = names.split(',').map(x => x.trim()).filter(Boolean)
    const mine = all.filter(n => SQL_NAMES.has(n.replace(/^type\s+/, '')))
    const rest = all.filter(n => !SQL_NAMES.has(n.replace(/^type\s+/, '')))
    return (rest.length ? `import { ${rest.join(', ')} } from "bun";` : '') +
      (mine.length ? `const { ${mine.join(', ')} } = __uvsql;` : '')
  })
  if (!native) s = s.replace(/import\s+(\w+)\s+from\s*["']bun["'];?/g, 'const $1 = __uvsql;')
  s = s.replace(/from\s*["']harness["']/g, `from "${dir}/harness.ts"`)
  if (!native) s = s.replace(/\bBun\.(SQL|sql)\b/g, '__uvsql.$1')
  if (!native) s = `const __uvsql = require(${JSON.stringify(UV)});\n` + s
  fs.writeFileSync(path.join(dst, f), s)
}
