namespace Optimizer.Tool.Report;

/// <summary>The report's inline style sheet (no external fonts or resources).</summary>
internal static class ReportStyle
{
    public const string Css = @"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: #1f2933; font: 14px/1.45 ""DejaVu Sans"", ""Liberation Sans"", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 32px 48px; }
header.top { background: #1f2933; color: #f5f7fa; padding: 22px 32px; }
header.top .inner { max-width: 1240px; margin: 0 auto; }
header.top h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header.top p { margin: 0; color: #cbd2d9; }
h2 { font-size: 20px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 2px solid #e4e7eb; }
h3 { font-size: 15px; margin: 22px 0 8px; color: #323f4b; }
section, .facts { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 4px 20px 18px; margin-top: 20px; }
.cards { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin-top: 20px; }
.card { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 12px 14px; border-top: 4px solid #9aa5b1; }
.card .n { font-size: 26px; font-weight: 700; }
.card .l { color: #616e7c; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.hot { border-top-color: #e15759; }
.card.warm { border-top-color: #f28e2b; }
.card.cool { border-top-color: #59a14f; }
.facts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0 24px; padding-top: 14px; }
.facts h3 { margin: 0 0 6px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; font-size: 13px; }
dt { color: #616e7c; }
dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 14px 0; }
figcaption { color: #616e7c; font-size: 13px; }
svg.chart { width: 100%; height: auto; display: block; }
svg text { font-family: ""DejaVu Sans"", ""Liberation Sans"", Arial, sans-serif; fill: #323f4b; }
svg .tick { font-size: 11px; fill: #616e7c; }
svg .axis-title { font-size: 12px; fill: #323f4b; }
svg .legend-label { font-size: 12px; }
svg .mark-label { font-size: 11px; fill: #7b4a6f; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .strip-label { font-size: 11px; fill: #323f4b; }
.multiples { display: grid; grid-template-columns: 1fr 1fr; gap: 12px 20px; }
.panel { border: 1px solid #e4e7eb; border-radius: 6px; padding: 8px 10px 4px; margin: 0; }
.panel figcaption { color: #1f2933; margin-bottom: 4px; }
.flag { color: #d62728; font-size: 12px; }
.legend-row { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; }
.swatch i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
table.findings { border-collapse: collapse; width: 100%; font-size: 13px; }
table.findings th { text-align: left; background: #f5f7fa; color: #323f4b; font-weight: 600; padding: 6px 8px; border-bottom: 1px solid #cbd2d9; }
table.findings td { padding: 5px 8px; border-bottom: 1px solid #eef0f3; vertical-align: middle; }
table.findings .num { text-align: right; font-variant-numeric: tabular-nums; }
table.findings tr.emph td { background: #fff5f5; }
p.warn { color: #8a3b00; background: #fff4e5; padding: 6px 8px; border-radius: 4px; }
table.findings tr.more td { color: #616e7c; font-style: italic; text-align: center; }
svg.range { vertical-align: middle; }
code { font-family: ""DejaVu Sans Mono"", ""Liberation Mono"", monospace; font-size: 12px; }
code.tok { background: #f0f4f8; border-radius: 3px; padding: 1px 4px; white-space: pre; }
.sub { color: #7b8794; font-size: 12px; }
.none { color: #616e7c; font-style: italic; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 11px; font-weight: 600; color: #fff; background: #7b8794; }
.b-birth { background: #d62728; } .b-tma { background: #f28e2b; } .b-propagated { background: #4e79a7; }
.b-gamma { background: #f28e2b; } .b-otc { background: #b07aa1; } .b-residual { background: #4e79a7; } .b-unknown { background: #7b8794; }
.b-absolute, .b-relative, .b-both { background: #9c755f; }
footer { color: #7b8794; font-size: 12px; margin-top: 28px; text-align: center; }
";
}
