/** Formatting amounts of money (USD) for reports, tables and summaries. */

/**
 * Money as people write it, never in exponent notation: `$0.0123`, and below a cent two
 * significant digits (`$0.0000028`); below a trillionth of a dollar `<$0.000000000001`.
 */
export function formatCost(usd: number): string {
  if (!Number.isFinite(usd)) return "-";
  if (usd === 0) return "$0";
  if (usd < 0) return `-${formatCost(-usd)}`;
  if (usd >= 0.01) return `$${usd.toFixed(4)}`;
  if (usd < 1e-12) return "<$0.000000000001";
  const decimals = Math.min(12, Math.max(4, 1 - Math.floor(Math.log10(usd))));
  return `$${usd.toFixed(decimals)}`;
}
