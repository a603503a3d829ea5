'use strict'
// The benchmark chart: one SVG, one panel per protocol, one group of bars per scenario. Each bar
// is a driver's median rate divided by the reference driver's median rate in the same run
// (Bun.SQL under Bun when it ran, else uvsql), so the line at 1.0 is the reference and the
// machine's absolute speed drops out. Plain SVG text, no dependency.

const COLORS = {
  uvsql: '#1f6feb',
  'uvsql-bun': '#7aa7f7',
  bunsql: '#f0883e',
  postgres: '#8b949e',
  pg: '#b1bac4',
  'pg-pipeline': '#6e7681',
  mysql2: '#8b949e',
  mariadb: '#b1bac4'
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function referenceOf (drivers) {
  return drivers.includes('bunsql') ? 'bunsql' : 'uvsql'
}

// One panel: `sum[scenario][driver].median` (null when the driver failed).
function panel (out, { title, sum, drivers, scenarios, driverName, top, width }) {
  const ref = referenceOf(drivers)
  const bars = drivers.filter((d) => d !== ref)
  const height = 250
  const left = 50
  const plotW = width - left - 20
  const plotTop = top + 50
  const ratios = scenarios.map((s) => bars.map((d) => {
    const r = sum[s][ref].median
    const v = sum[s][d].median
    return r && v ? v / r : null
  }))
  const maxRatio = Math.max(1.5, ...ratios.flat().filter((x) => x !== null))
  const yMax = Math.ceil(maxRatio * 2) / 2
  const y = (v) => plotTop + height - (v / yMax) * height

  out.push(`<text x="${left}" y="${top + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`)
  // Legend.
  let lx = left
  for (const d of bars) {
    out.push(`<rect x="${lx}" y="${top + 28}" width="12" height="12" fill="${COLORS[d] || '#999'}"/>`)
    out.push(`<text x="${lx + 16}" y="${top + 38}" font-size="12">${esc(driverName(d))}</text>`)
    lx += 24 + 7 * driverName(d).length
  }
  // The reference line's key sits in the legend: a label at the line's end covered bars near 1.
  out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${top + 34}" y2="${top + 34}" stroke="${COLORS[ref]}" stroke-width="2" stroke-dasharray="6 3"/>`)
  out.push(`<text x="${lx + 22}" y="${top + 38}" font-size="12" fill="${COLORS[ref]}">${esc(driverName(ref))} = 1</text>`)
  // Axis and grid.
  for (let v = 0; v <= yMax + 1e-9; v += 0.5) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`)
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(1)}×</text>`)
  }
  const groupW = plotW / scenarios.length
  const barW = Math.min(28, (groupW - 16) / Math.max(1, bars.length))
  scenarios.forEach((s, si) => {
    const gx = left + si * groupW + (groupW - barW * bars.length) / 2
    bars.forEach((d, bi) => {
      const v = ratios[si][bi]
      const x = gx + bi * barW
      if (v === null) {
        out.push(`<text x="${x + barW / 2}" y="${y(0) - 4}" font-size="10" text-anchor="middle">n/a</text>`)
        return
      }
      out.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${COLORS[d] || '#999'}"><title>${esc(`${s} ${driverName(d)}: ${v.toFixed(2)}×`)}</title></rect>`)
      out.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" font-size="9" text-anchor="middle">${v.toFixed(2)}</text>`)
    })
    out.push(`<text x="${left + si * groupW + groupW / 2}" y="${plotTop + height + 16}" font-size="12" text-anchor="middle">${s}</text>`)
  })
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(1)}" y2="${y(1)}" stroke="${COLORS[ref]}" stroke-width="2" stroke-dasharray="6 3"/>`)
  return plotTop + height + 30
}

// sumByDb: { pg: summary, mysql: summary } as bench/run.js builds them.
function renderChart ({ sumByDb, driversOf, scenarios, dbName, driverName, caption }) {
  const width = 880
  const out = []
  let top = 10
  for (const db of Object.keys(sumByDb)) {
    const ref = referenceOf(driversOf[db])
    const title = `${dbName[db]}: rate relative to ${driverName(ref)} (higher is better)`
    top = panel(out, { title, sum: sumByDb[db], drivers: driversOf[db], scenarios, driverName, top, width }) + 10
  }
  out.push(`<text x="50" y="${top + 4}" font-size="11" fill="#555">${esc(caption)}</text>`)
  const height = top + 16
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`
}

module.exports = { renderChart }
