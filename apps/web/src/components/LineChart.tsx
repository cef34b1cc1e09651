'use client';

// A small dependency-free SVG line chart: running totals on the dashboard, loss curves on jobs.
// Drawn at the container's real pixel width, so text stays the same size on a phone and a laptop.
import { useLayoutEffect, useRef, useState } from 'react';

export interface Series {
  label: string;
  /** a CSS colour */
  color: string;
  points: { x: number; y: number }[];
}

const H = 220;
const PAD = { left: 44, right: 14, top: 12, bottom: 28 };

/** A round step (1, 2 or 5 × 10^k) that cuts `range` into about four bands. */
function niceStep(range: number, integer: boolean): number {
  const rough = range / 4;
  if (rough <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(rough));
  const m = rough / p;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  return integer ? Math.max(1, Math.round(step)) : step;
}

export function LineChart({
  series,
  formatX = String,
  title,
  integer = false,
  fromZero = true,
}: {
  series: Series[];
  formatX?: (x: number) => string;
  title: string;
  /** counts: ticks on whole numbers */
  integer?: boolean;
  /** the y axis starts at 0 (totals); off for curves whose movement matters, like a loss */
  fromZero?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(240, Math.round(el.clientWidth)));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return null;
  const xMin = Math.min(...all.map((p) => p.x));
  const xMax = Math.max(...all.map((p) => p.x));
  const lo = Math.min(...all.map((p) => p.y));
  const hi = Math.max(...all.map((p) => p.y));
  const bottom = fromZero ? Math.min(0, lo) : lo;
  const step = niceStep(hi - bottom || Math.abs(hi) || 1, integer);
  const yMin = Math.floor(bottom / step) * step;
  const yMax = Math.max(yMin + step, Math.ceil(hi / step) * step);
  const sx = (x: number) => PAD.left + ((x - xMin) / (xMax - xMin || 1)) * (width - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - yMin) / (yMax - yMin || 1)) * (H - PAD.top - PAD.bottom);
  const ticks = Array.from({ length: Math.round((yMax - yMin) / step) + 1 }, (_, i) => yMin + i * step);
  const fmtY = (v: number) => String(Number(v.toPrecision(6)));

  return (
    <figure className="chart">
      <div ref={box}>
        <svg width={width} height={H} viewBox={`0 0 ${width} ${H}`} role="img" aria-label={title}>
          {ticks.map((v) => (
            <g key={v}>
              <line x1={PAD.left} x2={width - PAD.right} y1={sy(v)} y2={sy(v)} className="chart-grid" />
              <text x={PAD.left - 6} y={sy(v) + 4} textAnchor="end" className="chart-tick">
                {fmtY(v)}
              </text>
            </g>
          ))}
          <text x={PAD.left} y={H - 8} className="chart-tick">
            {formatX(xMin)}
          </text>
          <text x={width - PAD.right} y={H - 8} textAnchor="end" className="chart-tick">
            {formatX(xMax)}
          </text>
          {series.map((s) =>
            s.points.length === 1 ? (
              <circle key={s.label} cx={sx(s.points[0].x)} cy={sy(s.points[0].y)} r={3} fill={s.color} />
            ) : (
              <polyline
                key={s.label}
                fill="none"
                stroke={s.color}
                strokeWidth={2}
                strokeLinejoin="round"
                points={s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}
              />
            ),
          )}
        </svg>
      </div>
      <figcaption className="chart-legend">
        {series.map((s) => (
          <span key={s.label}>
            <i style={{ background: s.color }} aria-hidden />
            {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
